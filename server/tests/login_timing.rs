//! Login leaks no usernames through its timing: an unknown username costs the same argon2 work as a
//! known one with a wrong password. A test binary of its own, so no other test of the same binary
//! competes for the CPU while it measures (cargo runs test binaries one after another).

mod common;

use std::time::Instant;

use common::Fixture;
use protocol::Role;

#[tokio::test]
async fn login_takes_as_long_for_an_unknown_username_as_for_a_wrong_password() {
    let node = Fixture::new().start().await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    let attempt = |username: String| {
        let node = &node;
        async move {
            let started = Instant::now();
            let answer = node.post_login(&username, "not the password").await;
            assert_eq!(answer.error_code(), "invalid_credentials");
            started.elapsed()
        }
    };
    // A few untimed tries first, so neither side pays for what is cold.
    for i in 0..3 {
        attempt("ann".to_owned()).await;
        attempt(format!("warm{i}")).await;
    }
    // Interleaved, so both see the same machine load, and in turn first, so neither always follows.
    for i in 0..41 {
        if i % 2 == 0 {
            known.push(attempt("ann".to_owned()).await);
            unknown.push(attempt(format!("nobody{i}")).await);
        } else {
            unknown.push(attempt(format!("nobody{i}")).await);
            known.push(attempt("ann".to_owned()).await);
        }
    }
    known.sort();
    unknown.sort();
    let (known, unknown) = (known[20].as_secs_f64(), unknown[20].as_secs_f64());
    println!(
        "login medians: known username, wrong password {:.1} ms; unknown username {:.1} ms",
        known * 1000.0,
        unknown * 1000.0
    );
    let ratio = unknown / known;
    assert!(
        (0.8..=1.2).contains(&ratio),
        "medians differ by more than 20%: known {known:.4} s, unknown {unknown:.4} s"
    );
}
