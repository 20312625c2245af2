//! The page frame and HTML escaping shared by every console page.

/// Escapes text for HTML element content and double-quoted attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Which navigation entry a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Section {
    /// The tools list and the tool pages.
    Tools,
    /// The health page.
    Health,
}

/// A whole page: `body` inside the console's frame (header, navigation, main landmark).
pub(super) fn page(title: &str, section: Section, body: &str) -> String {
    let current = |s: Section| {
        if s == section {
            " aria-current=\"page\""
        } else {
            ""
        }
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · toolgate console</title>\
         <link rel=\"stylesheet\" href=\"/admin/assets/console.css\"></head>\
         <body><a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header class=\"top\"><a class=\"brand\" href=\"/admin/\">toolgate console</a>\
         <nav aria-label=\"Console\"><a href=\"/admin/\"{tools}>Tools</a>\
         <a href=\"/admin/health\"{health}>Health</a></nav></header>\
         <main id=\"main\">{body}</main>\
         <script src=\"/admin/assets/console.js\" defer></script></body></html>\n",
        title = escape(title),
        tools = current(Section::Tools),
        health = current(Section::Health),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
