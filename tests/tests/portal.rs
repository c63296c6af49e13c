//! The portal is served by the server itself: its pages under a same-origin Content-Security-
//! Policy, and the firm directory behind the public search (`GET /v1/firms`). The pages' own
//! behaviour is tested in a real browser (tests/browser/portal.test.mjs).

use e2e::Server;

const FIRMS: &str = "uscc,name,region\n91370303MA3C8DXA25,淄博甲商贸有限公司,山东省淄博市张店区\n91370303MA3D00001R,淄博乙食品有限公司,山东省淄博市张店区\n";

#[test]
fn the_portal_is_served_with_a_policy_that_allows_only_this_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let r = ureq::get(&format!("{}/", server.url)).call().unwrap();
    assert_eq!(r.content_type(), "text/html");
    let csp = r.header("content-security-policy").unwrap().to_owned();
    assert!(csp.starts_with("default-src 'self'; script-src 'self';"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    let page = r.into_string().unwrap();
    assert!(page.contains("<html lang=\"zh-CN\">"), "{page}");
    for asset in ["/portal/js/app.js", "/portal/js/verify.js", "/portal/js/crypto.js", "/portal/vendor/echarts.min.js"]
    {
        let r = ureq::get(&format!("{}{asset}", server.url)).call().unwrap();
        assert_eq!(r.content_type(), "text/javascript", "{asset}");
        assert!(r.into_string().unwrap().len() > 1000, "{asset}");
    }
    let e = ureq::get(&format!("{}/portal/js/nope.js", server.url)).call().unwrap_err();
    assert!(matches!(e, ureq::Error::Status(404, _)), "{e:?}");
}

#[test]
fn the_directory_finds_a_firm_by_name_or_code_and_refuses_a_bad_search() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("firms.csv"), FIRMS).unwrap();
    let server = Server::start(&data, &[]);
    let search = |q: &str| -> (u16, serde_json::Value) {
        let url = format!("{}/v1/firms?q={}", server.url, urlencode(q));
        match ureq::get(&url).call() {
            Ok(r) => (r.status(), r.into_json().unwrap()),
            Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap()),
            Err(e) => panic!("{e}"),
        }
    };
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["firms"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect()
    };
    let (s, v) = search("乙食品");
    assert_eq!(s, 200, "{v}");
    assert_eq!(names(&v), ["淄博乙食品有限公司"]);
    assert_eq!(names(&search("91370303ma3c").1), ["淄博甲商贸有限公司"]);
    assert_eq!(names(&search("淄博").1).len(), 2);
    assert!(names(&search("丙丁").1).is_empty());
    let (s, v) = search("甲");
    assert_eq!((s, v["type"].as_str(), v["field"].as_str()), (400, Some("/problems/bad-parameter"), Some("q")), "{v}");
    server.kill();

    // A directory file with a code that is not a USCC stops the server at start, naming the line.
    std::fs::write(data.join("firms.csv"), format!("{FIRMS}91370303MA3D000000,坏代码有限公司\n")).unwrap();
    let err = Server::try_start(&data, &[]).unwrap_err();
    assert!(err.contains("firms.csv: line 4: 91370303MA3D000000 is not a valid USCC"), "{err}");
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
