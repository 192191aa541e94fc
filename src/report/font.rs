//! The one font every chart uses: DejaVu Sans, embedded by the `dejavu` crate and registered with
//! plotters' `ab_glyph` text backend, so charts render the same on any machine, with or without
//! system fonts. Call [`register`] before drawing text (charts do it themselves); benches that draw
//! plots (criterion) call it too, since the registry is process-wide.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::style::{register_font, FontStyle};

/// The family name charts ask for. plotters' default family is "sans-serif", so registering the
/// font under that name also covers text drawn with default styles (legends, tick labels).
pub const FAMILY: &str = "sans-serif";

/// Registers DejaVu Sans (regular, bold, oblique) once per process. Later calls return the first
/// call's outcome without touching the registry again.
pub fn register() -> Result<()> {
    // The outcome is kept (not just "done") so a failure is reported to every caller, not only to
    // the first one.
    static OUTCOME: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    OUTCOME
        .get_or_init(|| {
            let faces: [(FontStyle, &'static [u8], &str); 4] = [
                (FontStyle::Normal, dejavu::sans::regular(), "regular"),
                (FontStyle::Bold, dejavu::sans::bold(), "bold"),
                (FontStyle::Oblique, dejavu::sans::oblique(), "oblique"),
                (FontStyle::Italic, dejavu::sans::oblique(), "italic"),
            ];
            for (style, bytes, what) in faces {
                register_font(FAMILY, style, bytes).map_err(|_| {
                    format!("the embedded DejaVu Sans {what} font is not a valid font")
                })?;
            }
            Ok(())
        })
        .clone()
        .map_err(|e| anyhow!("cannot register chart fonts: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::{FontDesc, FontFamily};

    #[test]
    fn registered_font_lays_out_text() {
        register().unwrap();
        register().unwrap();
        let font = FontDesc::new(FontFamily::Name(FAMILY), 20.0, FontStyle::Normal);
        let ((x0, _), (x1, _)) = font.layout_box("latency (ms)").unwrap();
        assert!(x1 - x0 > 50, "text has a plausible width: {}", x1 - x0);
    }
}
