//! Fuzzes the session token decoder: arbitrary text must be refused (never panic), and a
//! token that opens must have been minted by the key (i.e. round-trip the claims).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpgw_common::session::{SessionCodec, SessionKey};

fuzz_target!(|data: &[u8]| {
    let Ok(codec) = SessionCodec::new(&[SessionKey::from_bytes([5; 32]), SessionKey::from_bytes([6; 32])]) else { return };
    let text = String::from_utf8_lossy(data);
    if let Ok(claims) = codec.open(&text, 0) {
        // Only a genuine token opens; re-minting it must open to the same claims.
        let again = codec.mint(&claims, [0; 24]).expect("mint");
        assert_eq!(codec.open(&again, 0).expect("reopen"), claims);
    }
});
