//! `upstreams.<name>.auth.identity_assertion` over real sockets: every call carries a fresh
//! JWT signed by the gateway (ES256 with an EC P-256 key generated in the test, RS256 with an
//! RSA key), which the test verifies with the keys the gateway serves at
//! `/.well-known/jwks.json`: right `iss`, `aud`, `sub`, `org`, `scope`, `exp` (iat + ttl) and
//! a new `jti` for each call. The caller's own token is not forwarded.

mod common;

use common::jwt::{HS256_SECRET, hs256_token};
use common::{client, start_gateway, start_upstream};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

const RSA_PEM: &str = include_str!("data/jwt_rs256_private.pem");

const CONFIG: &str = r#"
auth:
  jwt:
    issuer: https://auth.example.com/
    audience: toolgate-tests
    hs256_secret: ${SECRET}
upstreams:
  ledger:
    base_url: "${API}"
    auth:
      identity_assertion:
        issuer: https://toolgate.example.com
        audience: ledger
        ttl: 90s
        signing_key_file: "${EC_KEY}"
  crm:
    base_url: "${API}"
    auth:
      identity_assertion:
        header: X-Identity
        issuer: https://toolgate.example.com
        audience: crm
        signing_key_file: "${RSA_KEY}"
        key_id: rsa-1
tools:
  - name: ledger_get
    description: Ledger.
    request: { upstream: ledger, path: /ledger }
  - name: crm_get
    description: CRM.
    request: { upstream: crm, path: /crm }
"#;

fn caller_token() -> String {
    hs256_token(json!({ "org": "acme", "scope": "crm.read ledger.read" }))
}

/// Verifies `assertion` with the gateway's JWKS; returns its header's kid and its claims.
fn verify(jwks: &JwkSet, assertion: &str, audience: &str) -> (String, Value) {
    let header = jsonwebtoken::decode_header(assertion).unwrap();
    let kid = header.kid.clone().expect("a kid");
    let jwk = jwks.find(&kid).expect("the kid is in the JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&["https://toolgate.example.com"]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
    let data = jsonwebtoken::decode::<Value>(assertion, &key, &validation).unwrap();
    (kid, data.claims)
}

#[tokio::test]
async fn assertions_verify_against_the_gateways_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let ec_key = dir.path().join("assertion-ec.pem");
    std::fs::write(&ec_key, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let rsa_key = dir.path().join("assertion-rsa.pem");
    std::fs::write(&rsa_key, RSA_PEM).unwrap();
    let upstream = start_upstream().await;
    let gateway = start_gateway(
        CONFIG,
        &[
            ("API", &upstream.url()),
            ("SECRET", HS256_SECRET),
            ("EC_KEY", ec_key.to_str().unwrap()),
            ("RSA_KEY", rsa_key.to_str().unwrap()),
        ],
    )
    .await;
    let response = client()
        .get(format!("{}/.well-known/jwks.json", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let jwks: JwkSet = response.json().await.unwrap();
    assert_eq!(jwks.keys.len(), 2);
    let text = serde_json::to_string(&jwks).unwrap();
    assert!(!text.contains("\"d\""), "no private key material: {text}");

    let caller = caller_token();
    let call = |tool: &'static str| {
        let caller = caller.clone();
        let url = gateway.mcp_url();
        async move {
            let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                               "params": { "name": tool, "arguments": {} } });
            let reply: Value = client()
                .post(url)
                .header("Accept", "application/json, text/event-stream")
                .bearer_auth(caller)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
        }
    };

    let mut jtis = Vec::new();
    for _ in 0..2 {
        call("ledger_get").await;
        let request = upstream.last();
        assert_eq!(
            request.header("authorization"),
            None,
            "the caller's token is not forwarded"
        );
        let assertion = request.header("x-caller-assertion").expect("an assertion");
        let (kid, claims) = verify(&jwks, assertion, "ledger");
        assert_eq!(
            jsonwebtoken::decode_header(assertion).unwrap().alg,
            Algorithm::ES256
        );
        assert_ne!(kid, "rsa-1", "the EC key's kid is its thumbprint");
        assert_eq!(claims["sub"], json!("user-42"));
        assert_eq!(claims["org"], json!("acme"));
        assert_eq!(claims["scope"], json!("crm.read ledger.read"));
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            90
        );
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    assert_ne!(jtis[0], jtis[1], "a new jti for every call");

    call("crm_get").await;
    let request = upstream.last();
    assert_eq!(request.header("x-caller-assertion"), None);
    let assertion = request.header("x-identity").expect("the configured header");
    let (kid, claims) = verify(&jwks, assertion, "crm");
    assert_eq!(kid, "rsa-1");
    assert_eq!(
        jsonwebtoken::decode_header(assertion).unwrap().alg,
        Algorithm::RS256
    );
    assert_eq!(claims["sub"], json!("user-42"));
    assert_eq!(claims["aud"], json!("crm"));
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        60,
        "default ttl"
    );
}
