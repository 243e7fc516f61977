//! `tongban translate` and `tongban validate`.

use std::io::{Read as _, Write as _};
use std::path::Path;

use super::{Error, Outcome};
use crate::model::{Lang, Problems};
use crate::platform::{self, Platform};

/// Reads the whole input: the file, or standard input.
fn input(file: Option<&Path>) -> Result<Vec<u8>, Error> {
    match file {
        Some(path) => std::fs::read(path).map_err(|source| Error::Io {
            what: format!("cannot read {}", path.display()),
            source,
        }),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|source| Error::Io {
                    what: "cannot read standard input".into(),
                    source,
                })?;
            Ok(buf)
        }
    }
}

/// One `path: message` line per problem on stderr, in `lang`.
fn report(problems: &Problems, lang: Lang) {
    let mut err = std::io::stderr().lock();
    for p in problems.iter() {
        let _ = writeln!(err, "{}", p.line(lang));
    }
}

/// Translates a document from one platform's format to the other's.
pub fn translate(
    from: Platform,
    to: Platform,
    file: Option<&Path>,
    lang: Lang,
) -> Result<Outcome, Error> {
    if from == to {
        return Err(Error::Usage(format!(
            "--from and --to are both {from}: nothing to translate"
        )));
    }
    let written = match platform::translate_owned(from, to, input(file)?) {
        Ok(w) => w,
        Err(problems) => {
            report(&problems, lang);
            return Ok(Outcome::Invalid);
        }
    };
    report(&written.warnings, lang);
    std::io::stdout()
        .lock()
        .write_all(&written.bytes)
        .map_err(|source| Error::Io {
            what: "cannot write standard output".into(),
            source,
        })?;
    Ok(Outcome::Success)
}

/// Validates a document; warnings are printed but do not make it invalid.
pub fn validate(format: Platform, file: Option<&Path>, lang: Lang) -> Result<Outcome, Error> {
    let bytes = input(file)?;
    match platform::read(format, &bytes) {
        Ok(read) => {
            report(&read.warnings, lang);
            Ok(Outcome::Success)
        }
        Err(problems) => {
            report(&problems, lang);
            Ok(Outcome::Invalid)
        }
    }
}
