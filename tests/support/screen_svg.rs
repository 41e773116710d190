//! A drawn ratatui buffer as an SVG picture, for README's screenshots
//! (`assets/screens/`): each run of same-styled cells is one `<text>` at its
//! column, so wide glyphs cannot push the rest of a line out of place.
//! Included with `#[path = "support/screen_svg.rs"] mod screen_svg;`.
#![allow(dead_code)]

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};

const CELL_W: f32 = 8.4;
const CELL_H: f32 = 18.0;
const FG: &str = "#d4d4d4";
const BG: &str = "#1e1e1e";

fn hex(c: Color) -> Option<String> {
    let named = match c {
        Color::Reset => return None,
        Color::Black => "#000000",
        Color::Red => "#cd3131",
        Color::Green => "#0dbc79",
        Color::Yellow => "#e5e510",
        Color::Blue => "#2472c8",
        Color::Magenta => "#bc3fbc",
        Color::Cyan => "#11a8cd",
        Color::Gray => "#b0b0b0",
        Color::DarkGray => "#767676",
        Color::LightRed => "#f14c4c",
        Color::LightGreen => "#23d18b",
        Color::LightYellow => "#f5f543",
        Color::LightBlue => "#3b8eea",
        Color::LightMagenta => "#d670d6",
        Color::LightCyan => "#29b8db",
        Color::White => "#e5e5e5",
        Color::Rgb(r, g, b) => return Some(format!("#{r:02x}{g:02x}{b:02x}")),
        Color::Indexed(i) => return Some(format!("#{i:02x}{i:02x}{i:02x}")),
    };
    Some(named.to_string())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Foreground, background (None: the page's) and bold of a cell.
fn look(cell: &Cell) -> (String, Option<String>, bool) {
    let (mut fg, mut bg) = (hex(cell.fg), hex(cell.bg));
    if cell.modifier.contains(Modifier::REVERSED) {
        let f = fg.clone().unwrap_or_else(|| FG.into());
        fg = Some(bg.clone().unwrap_or_else(|| BG.into()));
        bg = Some(f);
    }
    (
        fg.unwrap_or_else(|| FG.into()),
        bg,
        cell.modifier.contains(Modifier::BOLD),
    )
}

pub fn svg(buf: &Buffer) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{:.0}\" \
         font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"14\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"{BG}\"/>\n",
        w as f32 * CELL_W,
        h as f32 * CELL_H
    );
    for y in 0..h {
        let top = y as f32 * CELL_H;
        let base = top + CELL_H * 0.75;
        let mut x = 0;
        while x < w {
            let first = &buf[(x, y)];
            let style = look(first);
            // A run: same look, and plain ASCII after a wide or fancy glyph
            // starts a new one.
            let mut text = String::from(first.symbol());
            let mut end = x + 1;
            let fancy = |s: &str| !s.is_ascii();
            if !fancy(first.symbol()) {
                while end < w {
                    let c = &buf[(end, y)];
                    if look(c) != style || fancy(c.symbol()) {
                        break;
                    }
                    text.push_str(c.symbol());
                    end += 1;
                }
            }
            // Cells a wide glyph covers are empty strings: skip them.
            while end < w && buf[(end, y)].symbol().is_empty() {
                end += 1;
            }
            let left = x as f32 * CELL_W;
            let (fg, bg, bold) = &style;
            if let Some(bg) = bg {
                out.push_str(&format!(
                    "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{CELL_H:.1}\" fill=\"{bg}\"/>\n",
                    (end - x) as f32 * CELL_W
                ));
            }
            if !text.trim().is_empty() {
                out.push_str(&format!(
                    "<text x=\"{left:.1}\" y=\"{base:.1}\" fill=\"{fg}\"{} xml:space=\"preserve\">{}</text>\n",
                    if *bold { " font-weight=\"bold\"" } else { "" },
                    escape(&text)
                ));
            }
            x = end;
        }
    }
    out.push_str("</svg>\n");
    out
}
