//! Scenario validation of this round's fields: `[cluster.broker]`, the payload (size spread,
//! compressibility, keys) and `[sweep]`, each mistake reported at its field.

use std::path::Path;

use super::scenario_tests::BASE;
use super::*;
use crate::load::payload::{KeyDist, SizeDist};

fn parse(extra: &str) -> Result<Scenario, ScenarioError> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    Scenario::parse(&dir.join("test.toml"), format!("{BASE}{extra}"))
}

/// `text` added to the base scenario must be refused at `field`, saying `says`.
fn refused(extra: &str, field: &str, says: &str) {
    let e = parse(extra).expect_err("must be refused");
    assert_eq!(e.field, field, "{e}");
    assert!(e.message.contains(says), "{e}");
    assert!(e.line > 0, "points at a line: {e}");
}

#[test]
fn broker_settings_reach_the_scenario_and_the_layout_stays_kbench_s() {
    let sc = parse("[cluster.broker]\n\"broker.session.timeout.ms\" = 3000\n").unwrap();
    assert_eq!(
        sc.broker,
        [("broker.session.timeout.ms".to_string(), "3000".to_string())]
    );
    refused(
        "[cluster.broker]\n\"listeners\" = \"x\"\n",
        "cluster.broker.listeners",
        "layout",
    );
    refused(
        "[cluster.broker]\n\"ssl.keystore.location\" = \"x\"\n",
        "cluster.broker.ssl.keystore.location",
        "security",
    );
    refused(
        "[cluster.broker]\n\"Bad Key\" = 1\n",
        "cluster.broker.Bad Key",
        "not a server.properties key",
    );
    refused(
        "[cluster]\nbackend = \"external\"\nbootstrap = \"127.0.0.1:1\"\nregistry_url = \"http://127.0.0.1:2\"\n[cluster.broker]\n\"num.io.threads\" = 4\n",
        "cluster.broker",
        "external cluster",
    );
}

/// The base scenario with `schema` lines added to [schema] and `producer` lines to [producer].
fn with(schema: &str, producer: &str) -> Result<Scenario, ScenarioError> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let text = BASE.replace(
        "[producer]\n",
        &format!("{schema}\n[producer]\n{producer}\n"),
    );
    Scenario::parse(&dir.join("test.toml"), text)
}

#[test]
fn payload_fields_parse_into_sizes_repeat_and_keys() {
    assert_eq!(
        parse("").unwrap().payload,
        crate::load::payload::PayloadSpec::default()
    );
    let sc = with(
        "repeat = 0.5\nrecord_size = { min = 200, max = 1000 }",
        "keys = { count = 50, distribution = \"zipf\", exponent = 1.2 }",
    )
    .unwrap();
    assert_eq!(sc.payload.repeat, 0.5);
    assert_eq!(
        sc.payload.sizes,
        SizeDist::Uniform {
            min: 200,
            max: 1000
        }
    );
    assert_eq!(sc.schema.record_size, Some(600), "calibrated to the mean");
    assert_eq!(
        sc.payload.keys,
        KeyDist::Zipf {
            count: 50,
            exponent: 1.2
        }
    );
    let sc = with(
        "record_size = { sizes = [100, 900], weights = [3, 1] }",
        "keys = { count = 10 }",
    )
    .unwrap();
    assert_eq!(
        sc.payload.sizes,
        SizeDist::Histogram(vec![(100, 3.0), (900, 1.0)])
    );
    assert_eq!(sc.payload.keys, KeyDist::Uniform { count: 10 });
}

#[test]
fn payload_mistakes_name_their_field() {
    let check = |schema: &str, producer: &str, field: &str, says: &str| {
        let e = with(schema, producer).expect_err("refused");
        assert_eq!(e.field, field, "{e}");
        assert!(e.message.contains(says), "{e}");
    };
    check("repeat = 1.5", "", "schema.repeat", "from 0");
    check(
        "record_size = { min = 900, max = 100 }",
        "",
        "schema.record_size.max",
        "at least min",
    );
    check(
        "record_size = { sizes = [1, 2], weights = [1] }",
        "",
        "schema.record_size.weights",
        "1 entries for 2 sizes",
    );
    check(
        "record_size = \"big\"",
        "",
        "schema.record_size",
        "uniform range",
    );
    check(
        "",
        "keys = { count = 0 }",
        "producer.keys.count",
        "distinct keys",
    );
    check(
        "",
        "keys = { count = 5, distribution = \"pareto\" }",
        "producer.keys.distribution",
        "unknown distribution",
    );
    check(
        "",
        "keys = { count = 5, exponent = 2 }",
        "producer.keys.exponent",
        "zipf",
    );
}

#[test]
fn a_sweep_makes_one_validated_scenario_per_combination() {
    let sweep = "[[sweep.parameter]]\nproducer = \"linger.ms\"\nvalues = [0, 20]\n\
                 [[sweep.parameter]]\nbroker = \"broker.session.timeout.ms\"\nvalues = [3000, 6000, 9000]\n";
    let sc = parse(sweep).unwrap();
    let spec = sc.sweep.expect("a sweep");
    assert_eq!(spec.points.len(), 6);
    let p = &spec.points[4];
    assert_eq!(p.values, ["20", "6000"]);
    assert_eq!(
        p.label(&spec.parameters),
        "linger.ms=20, broker.session.timeout.ms=6000"
    );
    assert!(p
        .scenario
        .producer
        .properties
        .contains(&("linger.ms".into(), "20".into())));
    assert_eq!(
        p.scenario.broker,
        [("broker.session.timeout.ms".into(), "6000".into())]
    );
    assert_eq!(p.scenario.name, "t-05");
    assert!(p.scenario.sweep.is_none());
    assert!(
        !p.scenario.text.contains("[sweep"),
        "a combination's text is a plain scenario"
    );
}

#[test]
fn sweep_mistakes_name_the_parameter() {
    refused(
        "[[sweep.parameter]]\nvalues = [1]\n",
        "sweep.parameter.0",
        "names no setting",
    );
    refused(
        "[[sweep.parameter]]\nproducer = \"count\"\nschema = \"repeat\"\nvalues = [1]\n",
        "sweep.parameter.0",
        "more than one",
    );
    refused(
        "[[sweep.parameter]]\nschema = \"file\"\nvalues = [\"x\"]\n",
        "sweep.parameter.0",
        "cannot be swept",
    );
    refused(
        "[[sweep.parameter]]\nproducer = \"count\"\nvalues = [1, 0]\n",
        "sweep.parameter.0.values",
        "with count = 0: producer.count",
    );
    refused(
        "[[sweep.parameter]]\nproducer = \"linger.ms\"\nvalues = []\n",
        "sweep.parameter.0.values",
        "1 to 32",
    );
}

#[test]
fn a_backend_override_reaches_every_combination_of_a_sweep() {
    let sc = parse(
        "[sweep]\n[[sweep.parameter]]\nbroker = \"broker.session.timeout.ms\"\nvalues = [3000, 6000]\n",
    )
    .unwrap();
    let sc = sc.on_backend(BackendKind::Docker, None).unwrap();
    let points = &sc.sweep.as_ref().expect("a sweep").points;
    assert_eq!(points.len(), 2);
    for p in points {
        assert_eq!(
            p.scenario.cluster.kind(),
            BackendKind::Docker,
            "{:?}",
            p.values
        );
    }
}
