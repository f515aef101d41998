//! Before a long wait (hours until the maintenance window), hand the kernel back the memory
//! the wait does not need: the freed heap, and the pages of our own executable that preflight
//! touched (clean, file-backed: paged back in on demand when the window opens).

use std::path::PathBuf;

/// One mapping of `/proc/self/maps`: address range, permissions, path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// `r-xp`...
    pub perms: String,
    /// The file mapped, if any.
    pub path: Option<PathBuf>,
}

/// Parses `/proc/self/maps` lines; malformed lines are skipped.
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (start, end) = fields.next()?.split_once('-')?;
            let perms = fields.next()?.to_owned();
            let path = fields
                .nth(3)
                .filter(|p| p.starts_with('/'))
                .map(PathBuf::from);
            Some(Mapping {
                start: usize::from_str_radix(start, 16).ok()?,
                end: usize::from_str_radix(end, 16).ok()?,
                perms,
                path,
            })
        })
        .collect()
}

/// The read-only mappings of `exe`: code and constants, never written, safe to page out.
pub fn clean_mappings_of<'m>(
    maps: &'m [Mapping],
    exe: &'m PathBuf,
) -> impl Iterator<Item = &'m Mapping> {
    maps.iter()
        .filter(move |m| m.path.as_ref() == Some(exe) && !m.perms.contains('w') && m.end > m.start)
}

/// Trims the heap and pages out the executable's clean pages; how many bytes were advised.
/// Best effort: an old kernel without MADV_PAGEOUT just keeps them.
pub fn shed() -> usize {
    // SAFETY: malloc_trim only returns free heap memory to the system.
    unsafe { libc::malloc_trim(0) };
    let (Ok(exe), Ok(maps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/maps"),
    ) else {
        return 0;
    };
    let maps = parse_maps(&maps);
    let mut advised = 0;
    for m in clean_mappings_of(&maps, &exe) {
        // SAFETY: the range is one of our own read-only file mappings, from /proc/self/maps;
        // MADV_PAGEOUT drops clean pages, which fault back in from the file when used.
        let done = unsafe {
            libc::madvise(
                m.start as *mut libc::c_void,
                m.end - m.start,
                libc::MADV_PAGEOUT,
            )
        };
        if done == 0 {
            advised += m.end - m.start;
        }
    }
    advised
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executables_read_only_mappings() {
        let maps = "55d0a0000000-55d0a0400000 r--p 00000000 fd:01 123 /usr/bin/canopsis-upgrade\n\
                    55d0a0400000-55d0a1000000 r-xp 00400000 fd:01 123 /usr/bin/canopsis-upgrade\n\
                    55d0a1000000-55d0a1100000 rw-p 01000000 fd:01 123 /usr/bin/canopsis-upgrade\n\
                    7f0000000000-7f0000100000 r-xp 00000000 fd:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6\n\
                    7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n";
        let parsed = parse_maps(maps);
        assert_eq!(parsed.len(), 5);
        let exe = PathBuf::from("/usr/bin/canopsis-upgrade");
        let clean: Vec<_> = clean_mappings_of(&parsed, &exe)
            .map(|m| m.perms.as_str())
            .collect();
        assert_eq!(clean, ["r--p", "r-xp"]);
        assert_eq!(parsed[4].path, None);
    }

    #[test]
    fn shedding_keeps_the_process_working() {
        let advised = shed();
        assert!(advised > 0, "nothing paged out");
        // Code paged out comes back on use.
        assert_eq!(parse_maps("1-2 r--p 0 0 0 /x").len(), 1);
    }
}
