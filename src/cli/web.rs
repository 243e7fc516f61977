//! `tongban web …`: the window clerks' page. `hash-password` turns a clerk's password into the
//! argon2id PHC string a `[[web.accounts]]` entry takes, so no password is ever written into
//! the configuration.

use clap::Subcommand;

use super::{Error, Outcome};

/// Shortest password accepted for a clerk account: the lock-out stops guessing on the page,
/// but a hash that leaks with a configuration file is only as strong as its password.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Commands about the clerks' page.
#[derive(Debug, Subcommand)]
pub enum WebCmd {
    /// Read a clerk's password from standard input (one line) and print its argon2id hash for
    /// `password_hash` in `[[web.accounts]]`.
    HashPassword,
}

/// The password on the first line of `input`, without its line ending.
fn password_line(mut input: impl std::io::BufRead) -> Result<String, Error> {
    let mut line = String::new();
    input.read_line(&mut line).map_err(|source| Error::Io {
        what: "reading the password from standard input".into(),
        source,
    })?;
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Usage(format!(
            "the password on standard input has {} characters; a clerk's password needs at least {MIN_PASSWORD_CHARS}",
            password.chars().count()
        )));
    }
    Ok(password.to_owned())
}

/// Runs a `web` command.
pub fn run(cmd: WebCmd) -> Result<Outcome, Error> {
    match cmd {
        WebCmd::HashPassword => {
            let password = password_line(std::io::stdin().lock())?;
            let hash =
                crate::web::hash_password(&password).map_err(|e| Error::Usage(e.to_string()))?;
            println!("{hash}");
            Ok(Outcome::Success)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_is_the_password_and_short_ones_are_refused() {
        assert_eq!(
            password_line("窗口 password 2026\r\nrest".as_bytes()).unwrap(),
            "窗口 password 2026"
        );
        assert_eq!(
            password_line("no newline at all".as_bytes()).unwrap(),
            "no newline at all"
        );
        let short = password_line("short\n".as_bytes()).unwrap_err();
        assert!(short.to_string().contains("at least 10"), "{short}");
        assert!(password_line("".as_bytes()).is_err());
    }
}
