use super::*;

const SAMPLE_APPLY: &str = include_str!("../../../conformance/sh/ok_sample_application.xml");
const SAMPLE_DECISION: &str = include_str!("../../../conformance/sh/ok_sample_decision_granted.xml");

#[test]
fn the_samples_are_written_back_byte_for_byte() {
    for sample in [SAMPLE_APPLY, SAMPLE_DECISION] {
        let r = read(sample.as_bytes()).unwrap();
        assert!(r.warnings.is_empty(), "{}", r.warnings);
        let w = write(&r.document);
        assert!(w.warnings.is_empty(), "{}", w.warnings);
        assert_eq!(String::from_utf8(w.bytes).unwrap(), sample);
    }
}
