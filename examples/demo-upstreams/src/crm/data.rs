//! The CRM's data, generated deterministically (a small LCG, no randomness), kept in memory.

use std::collections::HashSet;

use serde::Serialize;

use crate::common::time::{iso_date, iso_timestamp, now_secs};

/// How many customers the demo holds.
pub(crate) const CUSTOMER_COUNT: u32 = 150;
/// Customer tiers, cheapest first.
pub(crate) const TIERS: [&str; 3] = ["basic", "premium", "enterprise"];
/// Customer statuses.
pub(crate) const STATUSES: [&str; 3] = ["active", "churned", "trial"];
/// Interaction types.
pub(crate) const INTERACTION_TYPES: [&str; 4] = ["email", "call", "meeting", "support_ticket"];

const FIRST_NAMES: [&str; 40] = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Isabella", "Lucas",
    "Mia", "Oliver", "Amelia", "Elijah", "Harper", "James", "Evelyn", "Benjamin", "Abigail",
    "Henry", "Emily", "Daniel", "Ella", "Samuel", "Grace", "Jack", "Chloe", "Leo", "Zoe", "Owen",
    "Hannah", "Ryan", "Nora", "Adrian", "Priya", "Kenji", "Sofia", "Mateo", "Aisha", "Minjun",
];

const LAST_NAMES: [&str; 40] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Nguyen",
    "Patel",
    "Kim",
    "Tanaka",
    "Muller",
    "Rossi",
    "Silva",
    "Okafor",
];

/// Company names and their email domains.
const COMPANIES: [(&str, &str); 40] = [
    ("Northwind Traders", "northwind.com"),
    ("Contoso Ltd", "contoso.com"),
    ("Fabrikam Inc", "fabrikam.com"),
    ("Acme Robotics", "acmerobotics.io"),
    ("Globex Logistics", "globexlogistics.com"),
    ("Initech Software", "initech.io"),
    ("Umbrella Health", "umbrellahealth.com"),
    ("Stark Components", "starkcomponents.com"),
    ("Wayne Analytics", "wayneanalytics.com"),
    ("Hooli Cloud", "hooli.cloud"),
    ("Pied Piper Labs", "piedpiper.io"),
    ("Vandelay Industries", "vandelay.com"),
    ("Soylent Foods", "soylentfoods.com"),
    ("Tyrell Biotech", "tyrellbio.com"),
    ("Cyberdyne Systems", "cyberdyne.io"),
    ("Wonka Confectionery", "wonka.co"),
    ("Blue Harbor Shipping", "blueharbor.com"),
    ("Summit Outdoor Gear", "summitgear.com"),
    ("Brightline Energy", "brightline.energy"),
    ("Cedar & Pine Furniture", "cedarpine.com"),
    ("Lumen Optics", "lumenoptics.com"),
    ("Quantum Ledger", "quantumledger.io"),
    ("Redwood Insurance", "redwoodins.com"),
    ("Silverline Telecom", "silverline.net"),
    ("Orchid Hospitality", "orchidhotels.com"),
    ("Atlas Construction", "atlasbuild.com"),
    ("Helios Solar", "heliossolar.com"),
    ("Nimbus Data", "nimbusdata.io"),
    ("Pinnacle Legal", "pinnaclelegal.com"),
    ("Evergreen Pharmacy", "evergreenrx.com"),
    ("Crescent Media", "crescentmedia.com"),
    ("Ironclad Security", "ironclad.security"),
    ("Meridian Bank", "meridianbank.com"),
    ("Polaris Aerospace", "polarisaero.com"),
    ("Riverbend Farms", "riverbendfarms.com"),
    ("Sapphire Retail", "sapphireretail.com"),
    ("Tidewater Marine", "tidewater.co"),
    ("Vertex Consulting", "vertexconsulting.com"),
    ("Willow Education", "willowedu.org"),
    ("Zenith Motors", "zenithmotors.com"),
];

/// City, country and phone prefix.
const PLACES: [(&str, &str, &str); 16] = [
    ("San Francisco", "United States", "+1 415"),
    ("New York", "United States", "+1 212"),
    ("Austin", "United States", "+1 512"),
    ("Chicago", "United States", "+1 312"),
    ("Toronto", "Canada", "+1 416"),
    ("London", "United Kingdom", "+44 20"),
    ("Dublin", "Ireland", "+353 1"),
    ("Berlin", "Germany", "+49 30"),
    ("Paris", "France", "+33 1"),
    ("Amsterdam", "Netherlands", "+31 20"),
    ("Stockholm", "Sweden", "+46 8"),
    ("Seoul", "South Korea", "+82 2"),
    ("Tokyo", "Japan", "+81 3"),
    ("Singapore", "Singapore", "+65"),
    ("Sydney", "Australia", "+61 2"),
    ("Sao Paulo", "Brazil", "+55 11"),
];

const ACCOUNT_MANAGERS: [&str; 8] = [
    "Rachel Green",
    "Marcus Chen",
    "Fatima Al-Sayed",
    "Diego Alvarez",
    "Hannah Schmidt",
    "Tom Okoro",
    "Yuki Sato",
    "Laura Bennett",
];

const SUPPORT_AGENTS: [&str; 6] = [
    "Sam Rivera",
    "Ines Duarte",
    "Kofi Mensah",
    "Julia Novak",
    "Arjun Mehta",
    "Chris Walsh",
];

/// Subject and summary pairs, per interaction type (same order as [`INTERACTION_TYPES`]).
const TOPICS: [[(&str, &str); 5]; 4] = [
    [
        (
            "Renewal quote",
            "Sent the renewal quote for next year; customer will review with finance.",
        ),
        (
            "Question about invoice",
            "Customer asked why the last invoice included extra seats; explained the true-up.",
        ),
        (
            "Onboarding checklist",
            "Shared the onboarding checklist and links to the admin guide.",
        ),
        (
            "Feature request: SSO",
            "Customer asked for SAML single sign-on; logged as a feature request.",
        ),
        (
            "Updated billing contact",
            "Billing contact changed; updated the account record.",
        ),
    ],
    [
        (
            "Quarterly business review",
            "Reviewed usage and goals for the quarter; adoption is growing in the sales team.",
        ),
        (
            "Pricing discussion",
            "Discussed moving to annual billing in exchange for a discount.",
        ),
        (
            "Check-in call",
            "Routine check-in; no open issues, customer is happy with support.",
        ),
        (
            "Escalation: sync delays",
            "Customer reported delays in nightly data sync; engineering is investigating.",
        ),
        (
            "Expansion opportunity",
            "Customer is considering adding two more departments next quarter.",
        ),
    ],
    [
        (
            "On-site workshop",
            "Ran a half-day workshop on reporting and dashboards for the operations team.",
        ),
        (
            "Executive sponsor meeting",
            "Met the executive sponsor; priorities are cost control and faster onboarding.",
        ),
        (
            "Product roadmap briefing",
            "Walked through the roadmap; strong interest in the analytics add-on.",
        ),
        (
            "Kickoff meeting",
            "Kicked off the implementation project and agreed on milestones.",
        ),
        (
            "Contract negotiation",
            "Negotiated renewal terms; legal review of the data processing addendum pending.",
        ),
    ],
    [
        (
            "Cannot export reports to CSV",
            "Export failed for reports over 10k rows; workaround provided, fix scheduled.",
        ),
        (
            "Login issues after password reset",
            "User locked out after reset; unlocked the account and enabled MFA.",
        ),
        (
            "API rate limit errors",
            "Integration hit 429 responses; advised batching requests and backoff.",
        ),
        (
            "Webhook deliveries failing",
            "Webhook endpoint returned 500s; customer fixed their receiver.",
        ),
        (
            "Data import stuck",
            "CSV import stalled at 90%; a malformed row was removed and the import completed.",
        ),
    ],
];

const NOTE_TEXTS: [&str; 10] = [
    "Prefers email over phone calls.",
    "Decision maker is the VP of Operations.",
    "Budget review happens every March; plan renewal conversations before then.",
    "Interested in the analytics add-on; send the case study.",
    "Asked for a discount at renewal; loop in the account manager.",
    "Uses the API heavily for nightly syncs.",
    "Main contact is going on parental leave next quarter.",
    "Very responsive to product webinars.",
    "Security review required before any new integration.",
    "Reference customer: happy to talk to prospects.",
];

/// Last day of generated activity (2025-10-31), in days since 1970-01-01.
const REFERENCE_DAY: i64 = 20_392;
/// First possible sign-up day (2019-01-01), in days since 1970-01-01.
const FIRST_SIGNUP_DAY: i64 = 17_897;

/// A customer interaction (email, call, meeting or support ticket).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Interaction {
    pub(crate) id: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) subject: String,
    pub(crate) summary: String,
    pub(crate) at: String,
    pub(crate) agent: &'static str,
}

/// A free-text note on a customer record.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Note {
    pub(crate) id: String,
    pub(crate) customer_id: String,
    pub(crate) text: String,
    pub(crate) pinned: bool,
    pub(crate) author: String,
    pub(crate) created_at: String,
}

/// A customer record; `interactions` are newest first, `notes` oldest first.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Customer {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) company: &'static str,
    pub(crate) phone: String,
    pub(crate) city: &'static str,
    pub(crate) country: &'static str,
    pub(crate) tier: &'static str,
    pub(crate) status: &'static str,
    pub(crate) created_at: String,
    pub(crate) lifetime_value: f64,
    pub(crate) account_manager: &'static str,
    #[serde(skip)]
    pub(crate) interactions: Vec<Interaction>,
    #[serde(skip)]
    pub(crate) notes: Vec<Note>,
}

/// All CRM data.
pub(crate) struct Store {
    pub(crate) customers: Vec<Customer>,
    next_note: u32,
}

/// A 64-bit linear congruential generator (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index into a slice of length `len`.
    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }

    /// A number in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo + 1).unwrap_or(1);
        lo + i64::try_from(self.below(span)).unwrap_or(0)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }
}

impl Store {
    /// Generates the demo data set; the same every time.
    pub(crate) fn generate() -> Self {
        let mut rng = Lcg(0x5EED_C0FF_EE15_2025);
        let mut emails = HashSet::new();
        let mut customers = Vec::new();
        let mut next_interaction = 1;
        let mut next_note = 1;
        for n in 1..=CUSTOMER_COUNT {
            let id = format!("CUST-{n:05}");
            let first = rng.pick(&FIRST_NAMES);
            let last = rng.pick(&LAST_NAMES);
            let (company, domain) = rng.pick(&COMPANIES);
            let (city, country, prefix) = rng.pick(&PLACES);
            let local = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
            let mut email = format!("{local}@{domain}");
            let mut suffix = 2;
            while !emails.insert(email.clone()) {
                email = format!("{local}{suffix}@{domain}");
                suffix += 1;
            }
            let tier = match rng.below(100) {
                0..50 => TIERS[0],
                50..85 => TIERS[1],
                _ => TIERS[2],
            };
            let status = match rng.below(100) {
                0..70 => STATUSES[0],
                70..88 => STATUSES[1],
                _ => STATUSES[2],
            };
            let (lo, hi) = match tier {
                "basic" => (200, 5_000),
                "premium" => (5_000, 50_000),
                _ => (50_000, 500_000),
            };
            let cents = rng.between(lo * 100, hi * 100);
            let signup = rng.between(FIRST_SIGNUP_DAY, REFERENCE_DAY - 30);
            let phone = format!(
                "{prefix} {:03} {:04}",
                rng.between(200, 999),
                rng.between(0, 9999)
            );
            let account_manager = rng.pick(&ACCOUNT_MANAGERS);

            let mut interactions = Vec::new();
            for _ in 0..rng.below(9) {
                let kind_index = rng.index(INTERACTION_TYPES.len());
                let kind = INTERACTION_TYPES[kind_index];
                let (subject, summary) = rng.pick(&TOPICS[kind_index]);
                let day = rng.between(signup, REFERENCE_DAY);
                let second = rng.between(8 * 3600, 18 * 3600);
                let agent = if kind == "support_ticket" {
                    rng.pick(&SUPPORT_AGENTS)
                } else {
                    account_manager
                };
                interactions.push(Interaction {
                    id: String::new(),
                    kind,
                    subject: subject.to_owned(),
                    summary: summary.to_owned(),
                    at: iso_timestamp(day * 86_400 + second),
                    agent,
                });
            }
            // ISO timestamps sort chronologically as text; ids follow time, listing is newest first.
            interactions.sort_by(|a, b| a.at.cmp(&b.at));
            for interaction in &mut interactions {
                interaction.id = format!("INT-{next_interaction:05}");
                next_interaction += 1;
            }
            interactions.reverse();

            let mut notes = Vec::new();
            // Distinct texts: a stride coprime to the list's length never repeats within 4 picks.
            let first_text = rng.index(NOTE_TEXTS.len());
            for k in 0..rng.index(4) {
                let day = rng.between(signup, REFERENCE_DAY);
                notes.push(Note {
                    id: String::new(),
                    customer_id: id.clone(),
                    text: NOTE_TEXTS[(first_text + 3 * k) % NOTE_TEXTS.len()].to_owned(),
                    pinned: rng.below(5) == 0,
                    author: account_manager.to_owned(),
                    created_at: iso_timestamp(day * 86_400 + rng.between(8 * 3600, 18 * 3600)),
                });
            }
            notes.sort_by(|a, b| a.created_at.cmp(&b.created_at));
            for note in &mut notes {
                note.id = format!("NOTE-{next_note:05}");
                next_note += 1;
            }

            customers.push(Customer {
                id,
                name: format!("{first} {last}"),
                email,
                company,
                phone,
                city,
                country,
                tier,
                status,
                created_at: iso_date(signup),
                lifetime_value: cents as f64 / 100.0,
                account_manager,
                interactions,
                notes,
            });
        }
        Self {
            customers,
            next_note,
        }
    }

    /// The customer with this id.
    pub(crate) fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id == id)
    }

    /// Adds a note to the customer with this id; `None` when there is no such customer.
    pub(crate) fn add_note(
        &mut self,
        customer_id: &str,
        text: String,
        pinned: bool,
        author: String,
    ) -> Option<Note> {
        let id = format!("NOTE-{:05}", self.next_note);
        let customer = self.customers.iter_mut().find(|c| c.id == customer_id)?;
        let note = Note {
            id,
            customer_id: customer.id.clone(),
            text,
            pinned,
            author,
            created_at: now_iso(),
        };
        customer.notes.push(note.clone());
        self.next_note += 1;
        Some(note)
    }
}

/// The current time as an ISO 8601 UTC timestamp.
fn now_iso() -> String {
    iso_timestamp(now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_right() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(FIRST_SIGNUP_DAY), "2019-01-01");
        assert_eq!(iso_date(REFERENCE_DAY), "2025-10-31");
        assert_eq!(iso_date(19_782), "2024-02-29");
        assert_eq!(iso_timestamp(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn data_is_deterministic_and_well_formed() {
        let a = Store::generate();
        let b = Store::generate();
        assert_eq!(a.customers.len(), CUSTOMER_COUNT as usize);
        let mut emails = HashSet::new();
        for (x, y) in a.customers.iter().zip(&b.customers) {
            assert_eq!(x.email, y.email);
            assert!(
                emails.insert(x.email.clone()),
                "duplicate email {}",
                x.email
            );
            assert!(x.interactions.len() <= 8);
            assert!(x.interactions.windows(2).all(|w| w[0].at >= w[1].at));
            assert!(x.interactions.windows(2).all(|w| w[0].id > w[1].id));
            let texts: HashSet<_> = x.notes.iter().map(|n| &n.text).collect();
            assert_eq!(texts.len(), x.notes.len(), "repeated note text");
            assert!(x.created_at.as_str() <= "2025-10-31");
        }
        for tier in TIERS {
            assert!(a.customers.iter().any(|c| c.tier == tier));
        }
        for status in STATUSES {
            assert!(a.customers.iter().any(|c| c.status == status));
        }
    }
}
