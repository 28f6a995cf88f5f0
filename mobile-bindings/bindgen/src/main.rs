//! The uniffi bindings generator, built from the same uniffi version as the
//! library but apart from it (building it never builds the library):
//! `cargo uniffi-bindgen generate --library <lib> --language kotlin`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
