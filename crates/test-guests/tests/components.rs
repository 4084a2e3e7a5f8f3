//! The build produced real components (not core modules) for every guest.

/// `\0asm`, then the component-model version and layer: version 0x0d, layer 1.
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

#[test]
fn every_guest_is_a_component() {
    let constants = [
        ("big", mote_test_guests::BIG),
        ("counter", mote_test_guests::COUNTER),
        ("echo", mote_test_guests::ECHO),
        ("fetch", mote_test_guests::FETCH),
        ("hello", mote_test_guests::HELLO),
        ("hog", mote_test_guests::HOG),
        ("kv", mote_test_guests::KV),
        ("logs", mote_test_guests::LOGS),
        ("slow", mote_test_guests::SLOW),
        ("spin", mote_test_guests::SPIN),
        ("trap", mote_test_guests::TRAP),
        ("version2", mote_test_guests::VERSION2),
    ];
    assert_eq!(mote_test_guests::all(), &constants[..]);

    for (name, path) in constants {
        assert!(
            std::path::Path::new(path).is_absolute(),
            "{name}: {path} is not absolute"
        );
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: reading {path}: {e}"));
        assert!(
            bytes.len() > COMPONENT_HEADER.len(),
            "{name}: {path} is only {} bytes",
            bytes.len()
        );
        assert_eq!(
            bytes[..8],
            COMPONENT_HEADER,
            "{name}: {path} does not start with a component header (a core module has 01 00 00 00)"
        );
        assert_eq!(mote_test_guests::get(name), Some(path));
    }
    assert_eq!(mote_test_guests::get("nope"), None);
}
