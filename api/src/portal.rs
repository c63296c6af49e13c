//! The browser portal (门户): static pages compiled into the binary and served at `/` and
//! `/portal/...`, so that `creditlog serve` and `creditlog demo` give a working portal with no
//! other set-up. The pages call the same `/v1` API as every other client, sign in the page with
//! the user's key file (WebCrypto, non-extractable) and check proofs in the page.
//!
//! Every page is served with a Content-Security-Policy that lets it load scripts, styles, images
//! and data from this server only: nothing is fetched from outside at run time (the chart library
//! is vendored, `api/portal/vendor/README.md`).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The policy every portal page is served with: this origin only, no inline script, no frames.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// `(path under /portal/, content type, bytes)`.
const FILES: &[(&str, &str, &[u8])] = &[
    ("index.html", "text/html; charset=utf-8", include_bytes!("../portal/index.html")),
    ("style.css", "text/css; charset=utf-8", include_bytes!("../portal/style.css")),
    ("js/app.js", "text/javascript; charset=utf-8", include_bytes!("../portal/js/app.js")),
    ("js/crypto.js", "text/javascript; charset=utf-8", include_bytes!("../portal/js/crypto.js")),
    ("js/verify.js", "text/javascript; charset=utf-8", include_bytes!("../portal/js/verify.js")),
    ("js/draw.js", "text/javascript; charset=utf-8", include_bytes!("../portal/js/draw.js")),
    ("js/i18n.js", "text/javascript; charset=utf-8", include_bytes!("../portal/js/i18n.js")),
    ("vendor/echarts.min.js", "text/javascript; charset=utf-8", include_bytes!("../portal/vendor/echarts.min.js")),
];

fn file(name: &str) -> Response {
    let Some((_, mime, bytes)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return crate::Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such page",
            format!("the portal has no file {name}; the portal starts at /"),
        )
        .into_response();
    };
    let mut r = (*bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Pages change with the binary; no stale script after an upgrade.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `GET /`: the portal's single page.
pub(crate) async fn index() -> Response {
    file("index.html")
}

/// `GET /portal/{*path}`: its scripts, styles and vendored libraries.
pub(crate) async fn asset(Path(path): Path<String>) -> Response {
    file(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file the page loads is served, and no page names an outside address.
    #[test]
    fn pages_load_only_from_this_server() {
        let index = std::str::from_utf8(FILES[0].2).unwrap();
        for r in ["/portal/style.css", "/portal/js/app.js", "/portal/vendor/echarts.min.js"] {
            assert!(index.contains(r), "{r}");
        }
        for (name, _, bytes) in FILES.iter().filter(|(n, _, _)| !n.starts_with("vendor/")) {
            let text = std::str::from_utf8(bytes).unwrap();
            for bad in ["http://", "https://", "//cdn", "@import"] {
                assert!(!text.contains(bad), "{name} names an outside address ({bad})");
            }
        }
        for import in ["./crypto.js", "./verify.js", "./i18n.js", "./draw.js"] {
            let app = std::str::from_utf8(FILES[2].2).unwrap();
            let verify = std::str::from_utf8(FILES[4].2).unwrap();
            assert!(app.contains(import) || verify.contains(import), "{import}");
        }
    }
}
