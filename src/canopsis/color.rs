//! CSS colours as Canopsis accepts them for broadcast messages and maintenance mode: hex,
//! `rgb()`, `rgba()`, `hsl()` and `hsla()` (no named colours), checked before anything is sent.

/// A colour Canopsis would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a CSS colour Canopsis accepts: use #rgb, #rgba, #rrggbb, #rrggbbaa, \
     rgb(r, g, b), rgba(r, g, b, a), hsl(h, s%, l%) or hsla(h, s%, l%, a)"
)]
pub struct ColorError(pub String);

/// Checks that `text` is a hex, `rgb()`, `rgba()`, `hsl()` or `hsla()` colour.
pub fn validate_color(text: &str) -> Result<(), ColorError> {
    if is_color(text) {
        Ok(())
    } else {
        Err(ColorError(text.to_owned()))
    }
}

fn is_color(text: &str) -> bool {
    if let Some(hex) = text.strip_prefix('#') {
        return matches!(hex.len(), 3 | 4 | 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let Some((name, rest)) = text.split_once('(') else {
        return false;
    };
    let Some(inner) = rest.strip_suffix(')') else {
        return false;
    };
    let args: Vec<&str> = inner.split(',').map(str::trim).collect();
    match (name, args.as_slice()) {
        ("rgb", [r, g, b]) => rgb(r, g, b),
        ("rgba", [r, g, b, a]) => rgb(r, g, b) && alpha(a),
        ("hsl", [h, s, l]) => hsl(h, s, l),
        ("hsla", [h, s, l, a]) => hsl(h, s, l) && alpha(a),
        _ => false,
    }
}

/// Three integers 0-255, or three percentages 0-100%.
fn rgb(r: &str, g: &str, b: &str) -> bool {
    let all = [r, g, b];
    all.iter().all(|c| integer(c, 255))
        || all
            .iter()
            .all(|c| c.strip_suffix('%').is_some_and(|p| integer(p, 100)))
}

/// A hue 0-360 and two percentages 0-100%.
fn hsl(h: &str, s: &str, l: &str) -> bool {
    integer(h, 360)
        && [s, l]
            .iter()
            .all(|c| c.strip_suffix('%').is_some_and(|p| integer(p, 100)))
}

/// A decimal integer without sign or leading zero, at most `max`.
fn integer(text: &str, max: u32) -> bool {
    !text.is_empty()
        && text.len() <= 3
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
        && text.parse::<u32>().is_ok_and(|n| n <= max)
}

/// An opacity between 0 and 1: `0`, `1`, `0.25`, `1.0`.
fn alpha(text: &str) -> bool {
    match text.split_once('.') {
        None => text == "0" || text == "1",
        Some((int, frac)) => {
            !frac.is_empty()
                && frac.bytes().all(|b| b.is_ascii_digit())
                && (int == "0" || (int == "1" && frac.bytes().all(|b| b == b'0')))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_forms() {
        for ok in [
            "#fff",
            "#FFFA",
            "#2fab63",
            "#2FAB6380",
            "rgb(0, 128, 255)",
            "rgb(0,128,255)",
            "rgb(10%, 50%, 100%)",
            "rgba(255, 0, 0, 0.5)",
            "rgba(255, 0, 0, 1)",
            "hsl(120, 50%, 40%)",
            "hsla(360, 100%, 0%, 0.75)",
        ] {
            assert!(validate_color(ok).is_ok(), "{ok} should be accepted");
        }
    }

    #[test]
    fn refuses_the_rest() {
        for bad in [
            "",
            "red",
            "#ff",
            "#fffff",
            "#ggg",
            "fff",
            "rgb(256, 0, 0)",
            "rgb(0, 0)",
            "rgb(10%, 5, 5)",
            "rgb(-1, 0, 0)",
            "rgb(01, 0, 0)",
            "rgba(0, 0, 0, 1.5)",
            "rgba(0, 0, 0, .5)",
            "hsl(361, 0%, 0%)",
            "hsl(120, 50, 40)",
            "hsla(120, 50%, 40%)",
            "RGB(0, 0, 0)",
            "rgb(0, 0, 0",
        ] {
            assert!(validate_color(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn the_error_says_what_is_accepted() {
        let text = validate_color("blue").unwrap_err().to_string();
        assert!(text.contains("\"blue\"") && text.contains("#rrggbb") && text.contains("hsl("));
    }
}
