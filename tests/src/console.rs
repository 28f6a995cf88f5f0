//! A browser-like client of the office console for tests over real HTTP
//! (cookies kept by hand, forms posted with their CSRF token), and office
//! users with a console sign-in.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use qamqor_server::console::signin;
use qamqor_server::model::{Role, User};

use crate::TestServer;

/// A browser-like client: keeps the console's cookies by hand.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, base: server.url(), cookies: Default::default() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let first = v.to_str().unwrap().split(';').next().unwrap();
            let (k, val) = first.split_once('=').unwrap();
            if val.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), val.into());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> (u16, String) {
        let r =
            self.http.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.keep(&r);
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn get_bytes(&mut self, path: &str) -> (u16, Vec<u8>) {
        let r =
            self.http.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&r);
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts a form with a file, as a browser's upload does.
    pub async fn upload(&mut self, path: &str, csrf: &str, file_name: &str, bytes: Vec<u8>) -> (u16, String) {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()));
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.keep(&r);
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(page: &str) -> String {
        let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
        page[at..].split('"').next().unwrap().to_owned()
    }

    pub async fn sign_in(&mut self, user: &str, password: &str, code: &str) -> u16 {
        let (_, page) = self.get("/console/login").await;
        let csrf = Browser::csrf(&page);
        self.post("/console/login", &[("csrf", &csrf), ("user", user), ("password", password), ("code", code)]).await.0
    }
}

pub fn office_user(server: &TestServer, id: &str, role: Role) -> signin::NewAccount {
    let user = User {
        id: id.into(),
        name: id.into(),
        role,
        region: server.config.region.clone(),
        districts: Vec::new(),
        adoption_access: false,
    };
    qamqor_server::admin::create_user(&server.service, &user).unwrap();
    signin::create_account(&server.service, id).unwrap()
}

pub fn code(account: &signin::NewAccount, offset_steps: i64) -> String {
    let t = chrono::Utc::now().timestamp() + offset_steps * 30;
    signin::code_at(&account.totp_secret, t as u64).unwrap()
}
