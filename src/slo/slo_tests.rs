//! Objective parsing and judgement, key by key, on hand-made numbers.

use super::*;

fn pcts(base: u64) -> Percentiles {
    Percentiles {
        count: 10,
        min_us: base,
        mean_us: base as f64,
        p50_us: base * 2,
        p90_us: base * 3,
        p99_us: base * 4,
        p99_9_us: base * 5,
        p99_99_us: base * 6,
        p99_999_us: base * 7,
        max_us: base * 8,
    }
}

#[test]
fn keys_are_checked() {
    assert!(parse("ack_p99_ms", &toml::Value::Integer(50)).is_ok());
    assert!(parse("e2e_p999_ms", &toml::Value::Float(80.5)).is_ok());
    assert!(parse("lost", &toml::Value::Integer(0)).is_ok());
    assert!(parse("ack_p98_ms", &toml::Value::Integer(5))
        .unwrap_err()
        .contains("unknown objective"));
    assert!(parse("error_ttf_p99_ms", &toml::Value::Integer(5)).is_err());
    assert!(parse("lost", &toml::Value::String("0".into()))
        .unwrap_err()
        .contains("number"));
    assert!(parse("min_achieved_pct", &toml::Value::Integer(120)).is_err());
    assert!(parse("failed", &toml::Value::Integer(-1)).is_err());
}

/// Every key the error message offers parses, and prints back as itself.
#[test]
fn every_allowed_key_round_trips() {
    let mut n = 0;
    for (_, kind) in LATENCY_KINDS {
        for (_, pct) in Percentile::ALL {
            let key = format!("{kind}_{pct}_ms");
            let o = Objective::parse(&key).unwrap_or_else(|| panic!("{key} rejected"));
            assert_eq!(o.key(), key);
            assert!(allowed_keys().contains(kind) && allowed_keys().contains(pct));
            n += 1;
        }
    }
    for (o, name) in NAMED {
        assert_eq!(Objective::parse(name), Some(o));
        assert_eq!(o.key(), name);
        assert!(allowed_keys().contains(name));
        n += 1;
    }
    assert_eq!(n, 4 * 7 + 7);
}

/// Each objective reads its own figure: a limit just below the measured value fails an
/// "at most" objective, the measured value itself passes it, and the other way round for
/// "at least".
#[test]
fn every_objective_is_judged_on_its_own_figure() {
    let mut latency = BTreeMap::new();
    latency.insert("ack_corrected".to_string(), pcts(1000));
    latency.insert("ack_raw".to_string(), pcts(2000));
    latency.insert("e2e".to_string(), pcts(3000));
    latency.insert("send_lag".to_string(), pcts(4000));
    let numbers = Numbers {
        measured_latency: Some(&latency),
        max_unavailability_s: 2.5,
        lost: 3,
        duplicated: 4,
        reordered: 5,
        failed: 6,
        achieved_pct: 97.5,
        schema_rejections: 7,
    };
    let mut expected: Vec<(String, f64)> = Vec::new();
    for (i, (_, kind)) in LATENCY_KINDS.iter().enumerate() {
        for (j, (_, pct)) in Percentile::ALL.iter().enumerate() {
            // pcts(base) puts base * (j + 2) µs at the j-th percentile.
            let ms = ((i as u64 + 1) * 1000 * (j as u64 + 2)) as f64 / 1000.0;
            expected.push((format!("{kind}_{pct}_ms"), ms));
        }
    }
    expected.extend([
        ("max_unavailability_s".to_string(), 2.5),
        ("lost".into(), 3.0),
        ("duplicated".into(), 4.0),
        ("reordered".into(), 5.0),
        ("failed".into(), 6.0),
        ("min_achieved_pct".into(), 97.5),
        ("schema_rejections".into(), 7.0),
    ]);
    for (key, value) in expected {
        let o = Objective::parse(&key).unwrap();
        let at = |limit: f64| {
            evaluate(
                &[Slo {
                    objective: o,
                    limit,
                }],
                &numbers,
            )
            .remove(0)
        };
        let exact = at(value);
        assert_eq!(exact.measured, Some(value), "{key}");
        assert!(exact.pass, "{key} at its own value must pass");
        let (tight, op) = match o.op() {
            Op::AtMost => (value - 0.001, "<="),
            Op::AtLeast => (value + 0.001, ">="),
        };
        assert!(!at(tight).pass, "{key} with limit {tight} must fail");
        assert_eq!(exact.op.as_str(), op);
        assert_eq!(exact.key, key);
    }
}

#[test]
fn a_latency_objective_without_a_measured_phase_fails_unmeasured() {
    let out = evaluate(
        &[parse("ack_p99_ms", &toml::Value::Integer(1_000_000)).unwrap()],
        &Numbers::default(),
    );
    assert_eq!(out[0].measured, None);
    assert!(!out[0].pass);
}

#[test]
fn op_serializes_as_the_results_file_spells_it() {
    assert_eq!(serde_json::to_string(&Op::AtMost).unwrap(), "\"<=\"");
    assert_eq!(serde_json::from_str::<Op>("\">=\"").unwrap(), Op::AtLeast);
}

#[test]
fn an_objective_round_trips_through_files_as_its_key_and_operator() {
    let slo = Slo {
        objective: Objective::parse("min_achieved_pct").unwrap(),
        limit: 99.5,
    };
    let json = serde_json::to_string(&slo).unwrap();
    assert_eq!(json, r#"{"key":"min_achieved_pct","op":">=","limit":99.5}"#);
    assert_eq!(serde_json::from_str::<Slo>(&json).unwrap(), slo);
    let wrong_way = r#"{"key":"ack_p99_ms","op":">=","limit":5}"#;
    let err = serde_json::from_str::<Slo>(wrong_way)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ack_p99_ms is bounded with <=, not >="),
        "{err}"
    );
    assert!(serde_json::from_str::<Slo>(r#"{"key":"speed","op":"<=","limit":5}"#).is_err());
}
