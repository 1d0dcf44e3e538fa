//! Format-change and maintenance notices: the onboarding team publishes one
//! to every merchant or to chosen ones, optionally tied to a payload version
//! being retired; merchants see it on their dashboard until they acknowledge
//! it, and the team sees who has.

use crate::validation::{CONTROL_CHARACTER, FieldErrors, has_control_character};
use serde::{Deserialize, Serialize};

pub const MAX_TITLE: usize = 120;
pub const MAX_BODY: usize = 5000;
/// The most merchants one notice may name.
pub const MAX_CHOSEN: usize = 500;

/// What the publish form sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// `2026-12-01`, the value of an `<input type="date">`, UTC.
    #[serde(default)]
    pub effective_date: String,
    /// `all` or `chosen`.
    #[serde(default)]
    pub audience: String,
    /// Merchant ids, separated by commas, spaces or new lines (for `chosen`).
    #[serde(default)]
    pub merchants: String,
    /// A payload version being retired, or empty.
    #[serde(default)]
    pub retiring_version: String,
}

/// Who a notice is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    All,
    Chosen(Vec<String>),
}

/// A valid notice, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeDraft {
    pub title: String,
    pub body: String,
    pub effective_ms: i64,
    pub audience: Audience,
    pub retiring_version: Option<String>,
}

/// `2026-12-01` as UTC midnight in milliseconds.
pub fn parse_date(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if raw.len() != 10 || raw.contains('T') {
        return None;
    }
    crate::time::parse_input(&format!("{raw}T00:00"))
}

impl NoticeInput {
    /// Checks every field and names each one at fault.
    pub fn validate(&self) -> Result<NoticeDraft, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = self.title.trim().to_owned();
        if title.is_empty() {
            errors.add("title", "Give the notice a title.");
        } else if title.chars().count() > MAX_TITLE {
            errors.add("title", format!("Use at most {MAX_TITLE} characters."));
        } else if has_control_character(&title, false) {
            errors.add("title", CONTROL_CHARACTER);
        }
        let body = self.body.trim().to_owned();
        if body.is_empty() {
            errors.add("body", "Say what changes and what merchants should do.");
        } else if body.chars().count() > MAX_BODY {
            errors.add("body", format!("Use at most {MAX_BODY} characters."));
        } else if has_control_character(&body, true) {
            errors.add("body", CONTROL_CHARACTER);
        }
        let effective_ms = parse_date(&self.effective_date);
        if effective_ms.is_none() {
            errors.add(
                "effective_date",
                "Enter the date the change takes effect, such as 2026-12-01.",
            );
        }
        let chosen: Vec<String> = self
            .merchants
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let audience = match self.audience.as_str() {
            "all" => {
                if !chosen.is_empty() {
                    errors.add(
                        "merchants",
                        "Leave this empty for a notice to every merchant, or choose \"chosen merchants\".",
                    );
                }
                Some(Audience::All)
            }
            "chosen" => {
                if chosen.is_empty() {
                    errors.add("merchants", "List the merchant ids this notice is for.");
                } else if chosen.len() > MAX_CHOSEN {
                    errors.add(
                        "merchants",
                        format!("Name at most {MAX_CHOSEN} merchants, or send it to all."),
                    );
                } else if chosen.iter().any(|id| has_control_character(id, false)) {
                    errors.add("merchants", CONTROL_CHARACTER);
                }
                let mut unique = chosen.clone();
                unique.sort();
                unique.dedup();
                Some(Audience::Chosen(unique))
            }
            _ => {
                errors.add("audience", "Choose all merchants or chosen merchants.");
                None
            }
        };
        let version = self.retiring_version.trim();
        let retiring_version = if version.is_empty() {
            None
        } else if crate::events::versions::is_known(version) {
            Some(version.to_owned())
        } else {
            errors.add(
                "retiring_version",
                format!(
                    "Choose one of the payload versions: {}.",
                    crate::events::versions::VERSIONS.join(", ")
                ),
            );
            None
        };
        match (effective_ms, audience) {
            (Some(effective_ms), Some(audience)) if errors.is_empty() => Ok(NoticeDraft {
                title,
                body,
                effective_ms,
                audience,
                retiring_version,
            }),
            _ => Err(errors),
        }
    }
}

/// A published notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct Notice {
    pub id: String,
    pub title: String,
    pub body: String,
    pub effective_ms: i64,
    /// True for every merchant; false for chosen ones.
    pub to_all: bool,
    pub retiring_version: Option<String>,
    pub published_ms: i64,
    pub published_by: String,
}

/// A notice as a merchant sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
pub struct MerchantNotice {
    pub notice: Notice,
    /// The merchant's endpoints (both modes) still on the retiring version.
    pub endpoints_on_version: Vec<String>,
}

/// A notice with how many merchants it reached and how many acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeSummary {
    pub notice: Notice,
    pub recipients: i64,
    pub acknowledged: i64,
}

/// One merchant a notice went to, and whether it acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub merchant_id: String,
    pub business_name: String,
    pub acked_by: Option<String>,
    pub acked_ms: Option<i64>,
}

#[cfg(feature = "runtime")]
pub use ops::*;

#[cfg(feature = "runtime")]
mod ops {
    use super::{Audience, MerchantNotice, Notice, NoticeInput, NoticeSummary, Recipient};
    use crate::clock::Clock;
    use crate::error::{Error, Result};
    use crate::ids;
    use crate::mode::Mode;
    use crate::on_db;
    use crate::store::Db;
    use crate::validation::FieldErrors;

    /// The most recipients a report lists.
    pub const REPORTED: i64 = 1000;

    type Row = (
        String,
        String,
        String,
        i64,
        String,
        Option<String>,
        i64,
        String,
    );

    const COLUMNS: &str = "n.id, n.title, n.body, n.effective_ms, n.audience, n.retiring_version, n.published_ms, n.published_by";

    fn view(r: Row) -> Notice {
        let (id, title, body, effective_ms, audience, retiring_version, published_ms, published_by) =
            r;
        Notice {
            id,
            title,
            body,
            effective_ms,
            to_all: audience == "all",
            retiring_version,
            published_ms,
            published_by,
        }
    }

    /// Publishes a notice. Every chosen merchant must exist; nothing is
    /// stored otherwise.
    pub async fn publish(
        db: &Db,
        clock: &dyn Clock,
        published_by: &str,
        input: &NoticeInput,
    ) -> Result<Notice> {
        let draft = input.validate()?;
        if let Audience::Chosen(ids) = &draft.audience {
            let mut unknown = Vec::new();
            for id in ids {
                if !crate::store::events::merchant_exists(db, id).await? {
                    unknown.push(format!("`{id}`"));
                }
            }
            if !unknown.is_empty() {
                return Err(Error::Validation(FieldErrors::single(
                    "merchants",
                    format!("No merchant has the id {}.", unknown.join(", ")),
                )));
            }
        }
        let notice = Notice {
            id: ids::notice_id(),
            title: draft.title,
            body: draft.body,
            effective_ms: draft.effective_ms,
            to_all: draft.audience == Audience::All,
            retiring_version: draft.retiring_version,
            published_ms: clock.now_ms(),
            published_by: published_by.to_owned(),
        };
        let chosen = match draft.audience {
            Audience::All => Vec::new(),
            Audience::Chosen(ids) => ids,
        };
        on_db!(db, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO notices (id, title, body, effective_ms, audience, retiring_version, published_ms, published_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&notice.id)
            .bind(&notice.title)
            .bind(&notice.body)
            .bind(notice.effective_ms)
            .bind(if notice.to_all { "all" } else { "chosen" })
            .bind(&notice.retiring_version)
            .bind(notice.published_ms)
            .bind(&notice.published_by)
            .execute(&mut *tx)
            .await?;
            for merchant_id in &chosen {
                sqlx::query(
                    "INSERT INTO notice_recipients (notice_id, merchant_id) VALUES ($1, $2)",
                )
                .bind(&notice.id)
                .bind(merchant_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(notice)
    }

    /// The notices addressed to a merchant that it has not acknowledged yet,
    /// newest first.
    pub async fn open_for(db: &Db, merchant_id: &str, mode: Mode) -> Result<Vec<MerchantNotice>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notices n \
             WHERE (n.audience = 'all' OR EXISTS (SELECT 1 FROM notice_recipients r WHERE r.notice_id = n.id AND r.merchant_id = $1)) \
               AND NOT EXISTS (SELECT 1 FROM notice_acks a WHERE a.notice_id = n.id AND a.merchant_id = $1) \
             ORDER BY n.published_ms DESC, n.id DESC LIMIT 50"
        );
        let rows: Vec<Row> = on_db!(db, |pool| {
            sqlx::query_as::<_, Row>(&sql)
                .bind(merchant_id)
                .fetch_all(pool)
                .await?
        });
        let notices: Vec<Notice> = rows.into_iter().map(view).collect();
        // The endpoints still on each retiring version, from one read of the
        // merchant's endpoints (a handful) rather than a query per notice.
        let on_version: Vec<(String, String)> =
            if notices.iter().any(|n| n.retiring_version.is_some()) {
                on_db!(db, |pool| {
                    sqlx::query_as::<_, (String, String)>(
                        "SELECT payload_version, url FROM endpoints \
                         WHERE merchant_id = $1 AND mode = $2 AND NOT deleted ORDER BY url",
                    )
                    .bind(merchant_id)
                    .bind(mode.as_str())
                    .fetch_all(pool)
                    .await?
                })
            } else {
                Vec::new()
            };
        let out = notices
            .into_iter()
            .map(|notice| {
                let endpoints_on_version = match &notice.retiring_version {
                    Some(version) => on_version
                        .iter()
                        .filter(|(v, _)| v == version)
                        .map(|(_, url)| url.clone())
                        .collect(),
                    None => Vec::new(),
                };
                MerchantNotice {
                    notice,
                    endpoints_on_version,
                }
            })
            .collect();
        Ok(out)
    }

    /// Records that the merchant has read a notice addressed to it. Saying
    /// it twice keeps the first acknowledgement.
    pub async fn acknowledge(
        db: &Db,
        clock: &dyn Clock,
        merchant_id: &str,
        acked_by: &str,
        notice_id: &str,
    ) -> Result<()> {
        let addressed = on_db!(db, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM notices n WHERE n.id = $1 AND (n.audience = 'all' OR EXISTS \
                   (SELECT 1 FROM notice_recipients r WHERE r.notice_id = n.id AND r.merchant_id = $2))",
            )
            .bind(notice_id)
            .bind(merchant_id)
            .fetch_one(pool)
            .await?
        });
        if addressed == 0 {
            return Err(Error::NotFound);
        }
        on_db!(db, |pool| {
            sqlx::query(
                "INSERT INTO notice_acks (notice_id, merchant_id, acked_by, acked_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (notice_id, merchant_id) DO NOTHING",
            )
            .bind(notice_id)
            .bind(merchant_id)
            .bind(acked_by)
            .bind(clock.now_ms())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Every notice, newest first, with its reach.
    pub async fn list(db: &Db) -> Result<Vec<NoticeSummary>> {
        type Counted = (
            String,
            String,
            String,
            i64,
            String,
            Option<String>,
            i64,
            String,
            i64,
            i64,
        );
        let sql = format!(
            "SELECT {COLUMNS}, \
               CASE WHEN n.audience = 'all' THEN (SELECT COUNT(*) FROM merchants) \
                    ELSE (SELECT COUNT(*) FROM notice_recipients r WHERE r.notice_id = n.id) END, \
               (SELECT COUNT(*) FROM notice_acks a WHERE a.notice_id = n.id) \
             FROM notices n ORDER BY n.published_ms DESC, n.id DESC LIMIT 200"
        );
        let rows: Vec<Counted> = on_db!(db, |pool| {
            sqlx::query_as::<_, Counted>(&sql).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(a, b, c, d, e, f, g, h, recipients, acknowledged)| NoticeSummary {
                    notice: view((a, b, c, d, e, f, g, h)),
                    recipients,
                    acknowledged,
                },
            )
            .collect())
    }

    /// One notice and who it went to, those who acknowledged first.
    pub async fn report(db: &Db, notice_id: &str) -> Result<(Notice, Vec<Recipient>)> {
        let sql = format!("SELECT {COLUMNS} FROM notices n WHERE n.id = $1");
        let row: Option<Row> = on_db!(db, |pool| {
            sqlx::query_as::<_, Row>(&sql)
                .bind(notice_id)
                .fetch_optional(pool)
                .await?
        });
        let notice = view(row.ok_or(Error::NotFound)?);
        let audience = if notice.to_all {
            "SELECT m.id FROM merchants m"
        } else {
            "SELECT r.merchant_id FROM notice_recipients r WHERE r.notice_id = $1"
        };
        let sql = format!(
            "SELECT m.id, m.business_name, a.acked_by, a.acked_ms FROM merchants m \
             LEFT JOIN notice_acks a ON a.merchant_id = m.id AND a.notice_id = $1 \
             WHERE m.id IN ({audience}) \
             ORDER BY CASE WHEN a.acked_ms IS NULL THEN 1 ELSE 0 END, a.acked_ms, m.business_name, m.id LIMIT $2"
        );
        let rows: Vec<(String, String, Option<String>, Option<i64>)> = on_db!(db, |pool| {
            sqlx::query_as::<_, (String, String, Option<String>, Option<i64>)>(&sql)
                .bind(notice_id)
                .bind(REPORTED)
                .fetch_all(pool)
                .await?
        });
        Ok((
            notice,
            rows.into_iter()
                .map(
                    |(merchant_id, business_name, acked_by, acked_ms)| Recipient {
                        merchant_id,
                        business_name,
                        acked_by,
                        acked_ms,
                    },
                )
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{Audience, NoticeInput, parse_date};

    fn input() -> NoticeInput {
        NoticeInput {
            title: "Payload version 2025-06-01 retires".into(),
            body: "Move your endpoints to 2026-09-01.".into(),
            effective_date: "2027-01-15".into(),
            audience: "all".into(),
            merchants: String::new(),
            retiring_version: "2025-06-01".into(),
        }
    }

    #[test]
    fn a_valid_notice_passes() {
        let draft = input().validate().unwrap();
        assert_eq!(draft.audience, Audience::All);
        assert_eq!(Some(draft.effective_ms), parse_date("2027-01-15"));
        assert_eq!(draft.retiring_version.as_deref(), Some("2025-06-01"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = NoticeInput {
            title: " ".into(),
            body: String::new(),
            effective_date: "2027-02-30".into(),
            audience: "some".into(),
            merchants: String::new(),
            retiring_version: "2020-01-01".into(),
        };
        let errors = bad.validate().unwrap_err();
        for field in [
            "title",
            "body",
            "effective_date",
            "audience",
            "retiring_version",
        ] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
    }

    #[test]
    fn chosen_merchants_are_listed_once() {
        let chosen = NoticeInput {
            audience: "chosen".into(),
            merchants: "mer_b, mer_a\nmer_b".into(),
            ..input()
        };
        assert_eq!(
            chosen.validate().unwrap().audience,
            Audience::Chosen(vec!["mer_a".into(), "mer_b".into()])
        );
        let none = NoticeInput {
            audience: "chosen".into(),
            ..input()
        };
        assert!(none.validate().unwrap_err().get("merchants").is_some());
        let both = NoticeInput {
            merchants: "mer_a".into(),
            ..input()
        };
        assert!(both.validate().unwrap_err().get("merchants").is_some());
    }

    #[test]
    fn dates_are_plain_days() {
        assert!(parse_date("2026-12-01").is_some());
        assert!(parse_date("2026-12-01T10:00").is_none());
        assert!(parse_date("12/01/2026").is_none());
        assert!(parse_date("").is_none());
    }
}
