//! HTTP handlers of the demo CRM. Every input is checked; nothing here panics on request data.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::data::{Customer, INTERACTION_TYPES, Note, STATUSES, TIERS};
use super::{ApiError, AppState, MAX_BODY_BYTES};
use crate::common::params::{self, Query, enum_param, int_param, param, to_json};

type Reply = Result<HttpResponse, ApiError>;

/// Longest note text, in characters.
const MAX_NOTE_CHARS: usize = 2000;
/// Longest note author, in characters.
const MAX_AUTHOR_CHARS: usize = 200;
/// Largest purchase amount the pricing endpoint accepts.
const MAX_PURCHASE: f64 = 1_000_000_000.0;
/// Longest delay of the slow report, in milliseconds.
const MAX_DELAY_MS: u64 = 30_000;

/// Checks that `id` looks like `CUST-` followed by five digits.
fn check_id(id: &str) -> Result<(), ApiError> {
    let well_formed = id
        .strip_prefix("CUST-")
        .is_some_and(|digits| digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()));
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "id",
            "customer id must look like CUST-00042 (CUST- and five digits)",
        ))
    }
}

/// The customer named by the path, checked for form and existence.
fn find<'a>(store: &'a super::data::Store, id: &str) -> Result<&'a Customer, ApiError> {
    check_id(id)?;
    store
        .customer(id)
        .ok_or_else(|| ApiError::not_found(format!("customer {id} not found")))
}

/// Notes as listed: pinned first, then newest first.
fn sorted_notes(customer: &Customer) -> Vec<&Note> {
    let mut notes: Vec<&Note> = customer.notes.iter().collect();
    notes.sort_by(|a, b| {
        b.pinned
            .cmp(&a.pinned)
            .then_with(|| b.created_at.cmp(&a.created_at))
            .then_with(|| b.id.cmp(&a.id))
    });
    notes
}

/// Rounds to two decimals.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `GET /customers`: search with pagination.
pub(crate) async fn search_customers(state: web::Data<AppState>, query: Query) -> Reply {
    let page = int_param(&query, "page", 1, 1, u64::MAX)?;
    let limit = int_param(&query, "limit", 20, 1, 100)?;
    let tier = enum_param(&query, "tier", &TIERS)?;
    let status = enum_param(&query, "status", &STATUSES)?;
    let lower = |name| param(&query, name).map(str::to_lowercase);
    let (text, name, email, company) = (
        lower("query"),
        lower("name"),
        lower("email"),
        lower("company"),
    );
    let has = |field: &str, needle: &Option<String>| {
        needle
            .as_ref()
            .is_none_or(|n| field.to_lowercase().contains(n.as_str()))
    };

    let store = state.store();
    let matches: Vec<&Customer> = store
        .customers
        .iter()
        .filter(|c| {
            text.as_ref().is_none_or(|t| {
                [c.name.as_str(), c.email.as_str(), c.company]
                    .iter()
                    .any(|f| f.to_lowercase().contains(t.as_str()))
            })
        })
        .filter(|c| has(&c.name, &name) && has(&c.email, &email) && has(c.company, &company))
        .filter(|c| tier.is_none_or(|t| c.tier == t) && status.is_none_or(|s| c.status == s))
        .collect();
    let total = matches.len() as u64;
    let start = page.saturating_sub(1).saturating_mul(limit);
    let customers: Vec<Value> = matches
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(100))
        .map(|c| {
            json!({
                "id": c.id, "name": c.name, "email": c.email,
                "company": c.company, "tier": c.tier, "status": c.status,
            })
        })
        .collect();
    let next_page = (start.saturating_add(limit) < total).then(|| page + 1);
    Ok(HttpResponse::Ok().json(json!({
        "customers": customers,
        "page": page,
        "limit": limit,
        "total": total,
        "next_page": next_page,
    })))
}

/// `GET /customers/{id}`: the full profile, optionally with interactions and notes.
pub(crate) async fn get_customer(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: Query,
) -> Reply {
    let (mut interactions, mut notes) = (false, false);
    if let Some(include) = param(&query, "include") {
        for part in include.split(',').map(str::trim) {
            match part {
                "interactions" => interactions = true,
                "notes" => notes = true,
                _ => {
                    return Err(ApiError::invalid(
                        "include",
                        "include must be interactions, notes, or both separated by a comma",
                    ));
                }
            }
        }
    }
    let store = state.store();
    let customer = find(&store, &id)?;
    let mut profile = to_json(customer)?;
    if let Some(obj) = profile.as_object_mut() {
        obj.insert(
            "interaction_count".into(),
            customer.interactions.len().into(),
        );
        obj.insert("note_count".into(), customer.notes.len().into());
        if interactions {
            obj.insert("interactions".into(), to_json(&customer.interactions)?);
        }
        if notes {
            obj.insert("notes".into(), to_json(sorted_notes(customer))?);
        }
    }
    Ok(HttpResponse::Ok().json(profile))
}

/// `GET /customers/{id}/interactions`: newest first, optionally of one type.
pub(crate) async fn list_interactions(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: Query,
) -> Reply {
    let limit = int_param(&query, "limit", 10, 1, 100)?;
    let kind = enum_param(&query, "type", &INTERACTION_TYPES)?;
    let store = state.store();
    let customer = find(&store, &id)?;
    let matching: Vec<_> = customer
        .interactions
        .iter()
        .filter(|i| kind.is_none_or(|k| i.kind == k))
        .collect();
    let shown: Vec<_> = matching
        .iter()
        .take(usize::try_from(limit).unwrap_or(100))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "customer_id": customer.id,
        "interactions": to_json(shown)?,
        "total": matching.len(),
    })))
}

/// `GET /customers/{id}/notes`: pinned first, then newest first.
pub(crate) async fn list_notes(state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let store = state.store();
    let customer = find(&store, &id)?;
    Ok(HttpResponse::Ok().json(json!({
        "customer_id": customer.id,
        "notes": to_json(sorted_notes(customer))?,
    })))
}

/// `POST /customers/{id}/notes`: adds a note; 201 with the note.
pub(crate) async fn create_note(
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Reply {
    find(&state.store(), &id)?;
    let body = read_object(payload).await?;
    let text = match body.get("text") {
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(ApiError::invalid("text", "text must not be empty"));
        }
        Some(Value::String(s)) if s.chars().count() > MAX_NOTE_CHARS => {
            return Err(ApiError::invalid(
                "text",
                format!("text must be at most {MAX_NOTE_CHARS} characters"),
            ));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::invalid("text", "text must be a string")),
        None => return Err(ApiError::invalid("text", "text is required")),
    };
    let pinned = match body.get("pinned") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("pinned", "pinned must be a boolean")),
    };
    let author = match body.get("author") {
        None | Some(Value::Null) => "api".to_owned(),
        Some(Value::String(s)) if s.trim().is_empty() || s.chars().count() > MAX_AUTHOR_CHARS => {
            return Err(ApiError::invalid(
                "author",
                format!("author must be 1 to {MAX_AUTHOR_CHARS} characters"),
            ));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::invalid("author", "author must be a string")),
    };
    let note = state
        .store()
        .add_note(&id, text, pinned, author)
        .ok_or_else(|| ApiError::not_found(format!("customer {id} not found")))?;
    Ok(HttpResponse::Created().json(json!({ "note": to_json(note)? })))
}

/// `GET /segments`: customer counts by tier and by status.
pub(crate) async fn segments(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store();
    let count =
        |pred: &dyn Fn(&Customer) -> bool| store.customers.iter().filter(|c| pred(c)).count();
    let mut segments = Vec::new();
    let tier_names = ["Basic tier", "Premium tier", "Enterprise tier"];
    for (tier, name) in TIERS.into_iter().zip(tier_names) {
        segments.push(json!({
            "id": format!("tier-{tier}"),
            "name": name,
            "description": format!("Customers on the {tier} plan."),
            "customer_count": count(&|c| c.tier == tier),
        }));
    }
    let described = [
        (
            "active",
            "Active customers",
            "Customers with a paid, active subscription.",
        ),
        (
            "churned",
            "Churned customers",
            "Former customers whose subscription has ended.",
        ),
        (
            "trial",
            "Trial customers",
            "Prospects currently on a free trial.",
        ),
    ];
    for (status, name, description) in described {
        segments.push(json!({
            "id": format!("status-{status}"),
            "name": name,
            "description": description,
            "customer_count": count(&|c| c.status == status),
        }));
    }
    HttpResponse::Ok().json(json!({ "segments": segments }))
}

/// `POST /pricing/discount`: 5 % for basic, 10 % for premium, 20 % for enterprise.
pub(crate) async fn discount(payload: web::Payload) -> Reply {
    let body = read_object(payload).await?;
    let tier = match body.get("customer_tier") {
        Some(Value::String(s)) if TIERS.contains(&s.as_str()) => s.clone(),
        None => {
            return Err(ApiError::invalid(
                "customer_tier",
                "customer_tier is required",
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "customer_tier",
                format!("customer_tier must be one of: {}", TIERS.join(", ")),
            ));
        }
    };
    let amount = match body.get("purchase_amount") {
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x > 0.0 && x <= MAX_PURCHASE => x,
            _ => {
                return Err(ApiError::invalid(
                    "purchase_amount",
                    format!("purchase_amount must be greater than 0 and at most {MAX_PURCHASE}"),
                ));
            }
        },
        None => {
            return Err(ApiError::invalid(
                "purchase_amount",
                "purchase_amount is required",
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "purchase_amount",
                "purchase_amount must be a number",
            ));
        }
    };
    let rate = match tier.as_str() {
        "enterprise" => 0.20,
        "premium" => 0.10,
        _ => 0.05,
    };
    let discount_amount = round2(amount * rate);
    Ok(HttpResponse::Ok().json(json!({
        "customer_tier": tier,
        "purchase_amount": amount,
        "discount_rate": rate,
        "discount_amount": discount_amount,
        "final_amount": round2(amount - discount_amount),
    })))
}

/// `GET /reports/slow`: answers after `delay_ms` milliseconds.
pub(crate) async fn slow_report(query: Query) -> Reply {
    let delay_ms = int_param(&query, "delay_ms", 2000, 0, MAX_DELAY_MS)?;
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    Ok(HttpResponse::Ok().json(json!({ "report": "done", "delay_ms": delay_ms })))
}

/// Reads a JSON object body of at most [`MAX_BODY_BYTES`].
async fn read_object(payload: web::Payload) -> Result<Map<String, Value>, ApiError> {
    params::read_object(payload, MAX_BODY_BYTES).await
}
