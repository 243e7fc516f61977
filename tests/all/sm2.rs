//! SM2 with SM3 beside Ed25519 (国密, for 密评): dual-signed checkpoints that `audit verify`
//! checks both ways and Ed25519-only signed-note readers still verify; the check of our SM2
//! signatures by an implementation nobody here wrote (the `gmssl` Python package) and of its
//! signatures by us; SM2 keys through the `tongban keys` commands; SM2 on the wire end to end.

use crate::gateway::{get_json, options, start, text};
use crate::wait_for;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use tongban::demo::SAMPLE_SH_APPLICATION;
use tongban::gateway::intake::pipeline::GATEWAY_NO_HEADER;
use tongban::gateway::record::AppState;
use tongban::gateway::transport::httpsig::SigAlg;
use tongban::ledger::bundle::{self, ExportOptions, FailureKind, VerifyOptions};
use tongban::ledger::{Entry, Log};
use tongban::signing::sm2::DEFAULT_DISTINGUISHING_ID;
use tongban::signing::{Note, SigningKey, Sm2SigningKey, TrustedKey, Verifiers};
use tongban::store::MemStore;

const ORIGIN: &str = "tongban.test/sm2";

fn ed() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[11; 32]).unwrap()
}

fn sm2() -> Sm2SigningKey {
    Sm2SigningKey::from_scalar(ORIGIN, DEFAULT_DISTINGUISHING_ID, &[12; 32]).unwrap()
}

/// A log of 8 entries with checkpoints at 5 and 8, each signed by both keys.
fn dual_signed_log() -> Log<MemStore> {
    let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
    let (ed, sm2) = (ed(), sm2());
    let entries: Vec<Vec<u8>> = (0..8)
        .map(|n| Entry::example(n).encode().unwrap())
        .collect();
    log.append_encoded(&entries[..5]).unwrap();
    log.sign_checkpoint_by(&[&ed, &sm2]).unwrap();
    log.append_encoded(&entries[5..]).unwrap();
    log.sign_checkpoint_by(&[&ed, &sm2]).unwrap();
    log
}

fn export(log: &Log<MemStore>, dir: &Path) -> std::path::PathBuf {
    let out = dir.join("bundle");
    let keys = [
        TrustedKey::Ed25519(ed().verifier()),
        TrustedKey::Sm2(sm2().public()),
    ];
    bundle::export(log, &keys, &ExportOptions::default(), &out, |_, _| {}).unwrap();
    out
}

fn verify(dir: &Path, opts: VerifyOptions) -> bundle::Report {
    bundle::verify(&bundle::load(dir).unwrap(), &opts, |_, _| {})
}

fn both_trusted() -> Option<Verifiers> {
    Some(Verifiers::new(vec![ed().verifier()]).with_sm2(vec![sm2().public()]))
}

/// Changes one byte of the signature of the note's SM2 line (its last line).
fn tamper_sm2_line(note: &str) -> String {
    let mut n = Note::parse(note).unwrap();
    let last = n.sigs.len() - 1;
    assert_eq!(n.sigs[last].key_id, sm2().key_id());
    n.sigs[last].sig[20] ^= 1;
    n.to_string()
}

#[test]
fn a_dual_signed_checkpoint_verifies_with_audit_verify_and_with_an_ed25519_only_reader() {
    let dir = tempfile::tempdir().unwrap();
    let out = export(&dual_signed_log(), dir.path());
    let checkpoint = fs::read_to_string(out.join("checkpoint")).unwrap();
    let lines: Vec<&str> = checkpoint
        .lines()
        .filter(|l| l.starts_with('\u{2014}'))
        .collect();
    assert_eq!(lines.len(), 2, "{checkpoint}");
    assert!(lines
        .iter()
        .all(|l| l.starts_with(&format!("\u{2014} {ORIGIN} "))));
    // The keys file carries both keys, the SM2 one with its own type bytes.
    let keys = fs::read_to_string(out.join("keys")).unwrap();
    assert_eq!(keys.lines().count(), 2);
    let sm2_material = B64
        .decode(keys.lines().nth(1).unwrap().splitn(3, '+').nth(2).unwrap())
        .unwrap();
    assert_eq!(&sm2_material[..16], b"\xfftongban/sm2-sm3");

    // audit verify: both signatures checked, --require-sm2 satisfied, with the bundle's keys
    // file and with keys given.
    for keys in [None, both_trusted()] {
        let r = verify(
            &out,
            VerifyOptions {
                keys,
                require_sm2: true,
                ..VerifyOptions::default()
            },
        );
        assert!(r.ok(), "{:#?}", r.failures);
        assert_eq!(
            r.signatures_verified, 4,
            "two notes (checkpoint, history), two lines each"
        );
    }

    // Cloudflare's signed_note (a port of Go's sumdb/note) with the Ed25519 key alone: the
    // SM2 line is an unknown key's, ignored as C2SP requires, and the note verifies.
    let go = signed_note::Note::from_bytes(checkpoint.as_bytes()).unwrap();
    let keys = signed_note::VerifierList::new(vec![Box::new(
        signed_note::StandardVerifier::new(&ed().verifier().to_string()).unwrap(),
    )]);
    let (verified, unknown) = go.verify(&keys).unwrap();
    assert_eq!((verified.len(), unknown.len()), (1, 1));
    assert_eq!(unknown[0].id(), sm2().key_id());
    // It refuses the SM2 key text itself (a type it does not know), which is why Ed25519-only
    // tools are given the Ed25519 lines of the keys file.
    assert!(signed_note::StandardVerifier::new(&sm2().public().to_string()).is_err());
}

#[test]
fn a_tampered_sm2_line_is_refused_by_audit_verify_and_ignored_by_an_ed25519_only_reader() {
    let dir = tempfile::tempdir().unwrap();
    let out = export(&dual_signed_log(), dir.path());
    let path = out.join("checkpoint");
    let bad = tamper_sm2_line(&fs::read_to_string(&path).unwrap());
    fs::write(&path, &bad).unwrap();
    let r = verify(
        &out,
        VerifyOptions {
            keys: both_trusted(),
            ..VerifyOptions::default()
        },
    );
    assert!(
        r.failures.iter().any(|f| f.kind == FailureKind::Signature
            && f.message.starts_with("checkpoint: SM2 signature by ")
            && f.message.ends_with(" does not verify")),
        "{:#?}",
        r.failures
    );
    // Without the SM2 key trusted, the line is an unknown key's and the bundle verifies ...
    let r = verify(
        &out,
        VerifyOptions {
            keys: Some(Verifiers::new(vec![ed().verifier()])),
            ..VerifyOptions::default()
        },
    );
    assert!(r.ok(), "{:#?}", r.failures);
    // ... unless an SM2 signature is required.
    let r = verify(
        &out,
        VerifyOptions {
            keys: Some(Verifiers::new(vec![ed().verifier()])),
            require_sm2: true,
            ..VerifyOptions::default()
        },
    );
    assert!(r
        .failures
        .iter()
        .any(|f| f.message.contains("no SM2 key is trusted")));
    let go = signed_note::Note::from_bytes(bad.as_bytes()).unwrap();
    let keys = signed_note::VerifierList::new(vec![Box::new(
        signed_note::StandardVerifier::new(&ed().verifier().to_string()).unwrap(),
    )]);
    assert!(go.verify(&keys).is_ok());
}

/// The independent check: `python3` with the `gmssl` package (PyPI; GmSSL's Python
/// implementation of SM2/SM3, written by others), both ways. Skipped, saying so, when either
/// is missing; `.ci/run` installs it.
const GMSSL_CHECK: &str = r#"
import sys
from gmssl import sm2
mode, pub, msg = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
if mode == "verify":
    ok = sm2.CryptSM2(public_key=pub, private_key="").verify_with_sm3(sys.argv[4], msg)
    print("valid" if ok else "invalid")
else:
    k = sm2.CryptSM2(public_key=pub, private_key=sys.argv[4])
    print(k.sign_with_sm3(msg))
"#;

fn gmssl(args: &[&str]) -> String {
    let o = Command::new("python3")
        .arg("-c")
        .arg(GMSSL_CHECK)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "gmssl failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}

#[test]
fn our_sm2_signatures_verify_with_gmssl_and_gmssls_verify_with_us() {
    let has_gmssl = Command::new("python3")
        .args(["-c", "import gmssl.sm2"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_gmssl {
        // CI installs it and sets TONGBAN_REQUIRE_GMSSL, so there the check cannot be skipped.
        assert!(
            std::env::var_os("TONGBAN_REQUIRE_GMSSL").is_none(),
            "python3 with the gmssl package is required (python3 -m pip install gmssl)"
        );
        eprintln!(
            "SKIPPED: python3 with the gmssl package is not installed (python3 -m pip install gmssl)"
        );
        return;
    }
    let key = Sm2SigningKey::generate(ORIGIN, DEFAULT_DISTINGUISHING_ID).unwrap();
    let public = key.public();
    let xy = hex::encode(&public.point()[1..]);
    // A checkpoint note text, as the SM2 line signs it.
    let text = dual_signed_log().checkpoint().unwrap().to_text();
    for msg in [text.as_bytes(), b"abc".as_slice(), &[0u8; 300][..]] {
        let sig = key.sign(msg);
        assert_eq!(
            gmssl(&["verify", &xy, &hex::encode(msg), &hex::encode(sig)]),
            "valid"
        );
        let mut bad = sig;
        bad[7] ^= 1;
        assert_eq!(
            gmssl(&["verify", &xy, &hex::encode(msg), &hex::encode(bad)]),
            "invalid"
        );
    }
    // The SM2 line of a dual-signed checkpoint, as an auditor would take it apart.
    let note = Note::parse(&dual_signed_log().last_signed_note().unwrap().unwrap()).unwrap();
    let line = &note.sigs[1];
    let ours = hex::encode(&sm2().public().point()[1..]);
    assert_eq!(
        gmssl(&[
            "verify",
            &ours,
            &hex::encode(&note.text),
            &hex::encode(&line.sig)
        ]),
        "valid"
    );

    // gmssl signs with a key of ours (its private scalar), we verify.
    let d = [0x5au8; 32];
    let theirs = Sm2SigningKey::from_scalar(ORIGIN, DEFAULT_DISTINGUISHING_ID, &d).unwrap();
    let pub_hex = hex::encode(&theirs.public().point()[1..]);
    for msg in [text.as_bytes(), b"message digest".as_slice()] {
        let sig = hex::decode(gmssl(&[
            "sign",
            &pub_hex,
            &hex::encode(msg),
            &hex::encode(d),
        ]))
        .unwrap();
        assert_eq!(sig.len(), 64);
        assert!(
            theirs.public().verify(msg, &sig),
            "gmssl's signature over {msg:?}"
        );
        assert!(!theirs.public().verify(b"other", &sig));
    }
}

fn tongban(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tongban"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn sm2_keys_are_generated_rotated_listed_and_published_and_required_by_audit_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ok = |args: &[&str]| {
        let o = tongban(d, args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    // An SM2 key needs the keyring (its Ed25519 key names the log).
    let o = tongban(d, &["keys", "generate", "--alg", "sm2"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("tongban keys generate --name ORIGIN"));
    ok(&["keys", "generate", "--name", ORIGIN]);
    let first = ok(&["keys", "generate", "--alg", "sm2"]);
    assert!(first.starts_with(&format!("{ORIGIN}+")));
    let o = tongban(d, &["keys", "generate", "--alg", "sm2"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("keys rotate --alg sm2"));
    ok(&["audit", "fill", "--entries", "50", "--batch", "25"]);
    let second = ok(&["keys", "rotate", "--alg", "sm2"]);
    assert_ne!(first, second);
    ok(&["audit", "fill", "--entries", "50", "--batch", "25"]);

    let list = ok(&["keys", "list"]);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let states: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        states,
        [("active", "ed25519"), ("retired", "sm2"), ("active", "sm2")],
        "{list}"
    );
    assert_eq!(rows[2][3], second.trim());
    let public = ok(&["keys", "public"]);
    assert_eq!(public.lines().count(), 3);
    assert!(!public.contains("PRIVATE"));
    let keys_file = d.join("published-keys");
    fs::write(&keys_file, &public).unwrap();
    let ed_only = d.join("ed25519-keys");
    fs::write(&ed_only, public.lines().next().unwrap()).unwrap();

    let out = d.join("bundle");
    ok(&["audit", "export", out.to_str().unwrap()]);
    let o = tongban(
        d,
        &[
            "audit",
            "verify",
            out.to_str().unwrap(),
            "--keys",
            keys_file.to_str().unwrap(),
            "--require-sm2",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // Checkpoints before the rotation carry the retired SM2 key's line, after it the new one:
    // every history note verified by both algorithms.
    let o = tongban(
        d,
        &[
            "audit",
            "verify",
            out.to_str().unwrap(),
            "--keys",
            ed_only.to_str().unwrap(),
            "--require-sm2",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("an SM2 signature is required"));
}

#[tokio::test]
async fn with_sm2_on_the_wire_the_sandbox_verifies_the_gateway_and_the_ledger_records_the_partners_sm2(
) {
    let (_dir, lb) = start(tongban::demo::LoopbackOptions {
        sm2: true,
        ..options()
    })
    .await;
    let reply = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    assert_eq!(reply.status, 200, "{}", text(&reply));
    // The receipt to Shanghai is Ed25519 (its default), as before.
    assert!(reply.headers["signature-input"].contains("alg=\"ed25519\""));
    let no = reply.headers[GATEWAY_NO_HEADER].clone();
    wait_for("DELIVERED", || {
        lb.gateway()
            .and_then(|g| g.store.get(&no).ok().flatten())
            .is_some_and(|r| r.state == AppState::Delivered)
    })
    .await;
    // Zhejiang is sent SM2 (signatures = "sm2") and its sandbox verified it.
    let verified = lb.zj.verified();
    assert!(!verified.is_empty());
    assert!(
        verified.iter().all(|v| v.alg == SigAlg::Sm2),
        "{verified:?}"
    );

    // Shanghai signed with SM2; RECEIVED records the key id and the algorithm.
    let v = get_json(&format!(
        "http://{}/api/v1/ledger/entries?start=0",
        lb.ops_addr
    ))
    .await;
    let received = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["entry"])
        .find(|e| e["step"] == "received")
        .unwrap()
        .clone();
    assert_eq!(received["sender_keyid"], "sh-sandbox-sm2", "{received}");
    assert_eq!(received["sender_alg"], "sm2-sm3", "{received}");

    // Checkpoints carry both lines and verify with the published keys of both algorithms.
    let keys = reqwest::get(format!("http://{}/api/v1/ledger/keys", lb.ops_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let trusted = Verifiers::parse_lines(&keys).unwrap();
    assert_eq!((trusted.keys().len(), trusted.sm2_keys().len()), (1, 1));
    let mut checkpoint = String::new();
    for _ in 0..100 {
        checkpoint = reqwest::get(format!("http://{}/api/v1/ledger/checkpoint", lb.ops_addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if checkpoint.contains('\u{2014}') {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let signed_by = Note::parse(&checkpoint).unwrap().verify(&trusted).unwrap();
    let algs: Vec<&str> = signed_by.iter().map(TrustedKey::algorithm).collect();
    assert_eq!(algs, ["ed25519", "sm2"]);
    lb.stop().await;
}
