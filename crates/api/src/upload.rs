//! The one file of a `multipart/form-data` upload (RFC 7578), as
//! `curl -F file=@plan.csv` or an HTML form sends it, so that the planned
//! staffing import takes a form upload as it takes the file as the body.
//!
//! Only what such an upload needs is read: the boundary from the
//! `Content-Type`, the parts between the delimiters, and each part's
//! `Content-Disposition` (a part with a `filename` is a file). The one file
//! is returned as it was sent, byte for byte; anything else — no boundary,
//! no file, two files, a body cut short — is refused with what to send.

/// The uploaded file of a request with headers `headers` and body `body`:
/// the one file of a form when the body is `multipart/form-data`
/// (`curl -F file=@plan.csv`), else the body itself (`curl --data-binary
/// @plan.csv`); `Err` as [`single_file`].
pub(crate) fn file_of<'a>(headers: &axum::http::HeaderMap, body: &'a [u8]) -> Result<&'a [u8], String> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        single_file(content_type, body)
    } else {
        Ok(body)
    }
}

/// The bytes of the single file in a `multipart/form-data` body whose
/// `Content-Type` is `content_type`; `Err` says what is wrong and what to
/// send instead.
pub(crate) fn single_file<'a>(content_type: &str, body: &'a [u8]) -> Result<&'a [u8], String> {
    let boundary = boundary(content_type)
        .ok_or("the multipart/form-data Content-Type names no boundary; send the CSV file as the request body (curl --data-binary @plan.csv), or as one form field (curl -F file=@plan.csv)")?;
    let delimiter = [b"--", boundary.as_bytes()].concat();
    let cut_short = || {
        "the multipart/form-data body is cut short or malformed; send the CSV file as the request body (curl --data-binary @plan.csv)".to_owned()
    };
    let mut at = find(body, &delimiter, 0).ok_or_else(cut_short)? + delimiter.len();
    let mut files = Vec::new();
    let mut fields = 0;
    loop {
        if body[at..].starts_with(b"--") {
            break;
        }
        if !body[at..].starts_with(b"\r\n") {
            return Err(cut_short());
        }
        let headers_start = at + 2;
        let headers_end = find(body, b"\r\n\r\n", headers_start).ok_or_else(cut_short)?;
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]).to_lowercase();
        let content_start = headers_end + 4;
        let next = find(body, &[b"\r\n", delimiter.as_slice()].concat(), content_start).ok_or_else(cut_short)?;
        let is_file = headers
            .lines()
            .any(|l| l.starts_with("content-disposition:") && l.contains("filename="));
        if is_file {
            files.push(&body[content_start..next]);
        } else {
            fields += 1;
        }
        at = next + 2 + delimiter.len();
    }
    match files.as_slice() {
        [file] => Ok(file),
        [] => Err(format!(
            "the form holds {fields} field(s) and no file; send the CSV as one file field (curl -F file=@plan.csv) or as the request body (curl --data-binary @plan.csv)"
        )),
        more => Err(format!(
            "the form holds {} files; send one CSV file with every ward's rows",
            more.len()
        )),
    }
}

/// The `boundary` parameter of a `multipart/form-data` media type.
fn boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        (name.trim().eq_ignore_ascii_case("boundary"))
            .then(|| value.trim().trim_matches('"'))
            .filter(|b| !b.is_empty())
    })
}

/// The first index of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CSV: &str = "ward;team;date;shift;profession;planned\r\nw01;;2026-11-24;day;USK;3\r\n";

    fn form(boundary: &str, parts: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, filename, content) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match filename {
                Some(f) => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
                ),
                None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            body.extend_from_slice(content.as_bytes());
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    #[test]
    fn the_one_file_comes_back_byte_for_byte() {
        let b = "------------------------d74496d66958873e";
        let body = form(b, &[("file", Some("plan.csv"), CSV)]);
        let ct = format!("multipart/form-data; boundary={b}");
        assert_eq!(single_file(&ct, &body).unwrap(), CSV.as_bytes());
        // a quoted boundary and a text field beside the file
        let body = form("xyz", &[("note", None, "hello"), ("file", Some("p.csv"), CSV)]);
        assert_eq!(
            single_file("multipart/form-data; boundary=\"xyz\"", &body).unwrap(),
            CSV.as_bytes()
        );
    }

    #[test]
    fn no_file_two_files_no_boundary_and_cut_bodies_are_refused() {
        let body = form("b", &[("note", None, "hello")]);
        assert!(
            single_file("multipart/form-data; boundary=b", &body)
                .unwrap_err()
                .contains("no file")
        );
        let body = form("b", &[("a", Some("a.csv"), CSV), ("b", Some("b.csv"), CSV)]);
        assert!(
            single_file("multipart/form-data; boundary=b", &body)
                .unwrap_err()
                .contains("2 files")
        );
        assert!(
            single_file("multipart/form-data", &body)
                .unwrap_err()
                .contains("no boundary")
        );
        let body = form("b", &[("file", Some("plan.csv"), CSV)]);
        let cut = &body[..body.len() - 12];
        assert!(
            single_file("multipart/form-data; boundary=b", cut)
                .unwrap_err()
                .contains("cut short")
        );
        assert!(
            single_file("multipart/form-data; boundary=b", b"")
                .unwrap_err()
                .contains("cut short")
        );
    }
}
