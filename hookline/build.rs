// The migrations are embedded at compile time (`sqlx::migrate!`): rebuild
// when one is added or edited, or the binary would carry the old set.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
