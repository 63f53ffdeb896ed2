//! Schema migrations, embedded in the binary. Each backend has its own SQL
//! (types differ) but the same numbered steps; an applied migration whose
//! text later changed is an error, never silently skipped.

use sha2::{Digest, Sha256};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(&Sha256::digest(self.sql.as_bytes())[..16])
    }
}

pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "spine",
        sql: include_str!("../../migrations/sqlite/0001_spine.sql"),
    },
    Migration {
        version: 2,
        name: "value",
        sql: include_str!("../../migrations/sqlite/0002_value.sql"),
    },
    Migration {
        version: 3,
        name: "agent",
        sql: include_str!("../../migrations/sqlite/0003_agent.sql"),
    },
];

pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "spine",
        sql: include_str!("../../migrations/postgres/0001_spine.sql"),
    },
    Migration {
        version: 2,
        name: "value",
        sql: include_str!("../../migrations/postgres/0002_value.sql"),
    },
    Migration {
        version: 3,
        name: "agent",
        sql: include_str!("../../migrations/postgres/0003_agent.sql"),
    },
];

/// Compares what the database says it applied with what this binary ships.
/// Returns the migrations still to apply, or an error naming a mismatch.
pub fn pending<'a>(
    shipped: &'a [Migration],
    applied: &[(i64, String)],
) -> anyhow::Result<Vec<&'a Migration>> {
    for (version, checksum) in applied {
        match shipped.iter().find(|m| m.version == *version) {
            None => anyhow::bail!(
                "the database has migration {version}, which this binary does not know: it was migrated by a newer Holdfast"
            ),
            Some(m) if &m.checksum() != checksum => anyhow::bail!(
                "migration {version} ({}) changed after it was applied; restore the original file",
                m.name
            ),
            Some(_) => {}
        }
    }
    Ok(shipped
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_unique_and_parallel() {
        for list in [SQLITE, POSTGRES] {
            for (i, m) in list.iter().enumerate() {
                assert_eq!(m.version, i as i64 + 1);
            }
        }
        assert_eq!(SQLITE.len(), POSTGRES.len());
    }

    #[test]
    fn pending_detects_changes() {
        let all = pending(SQLITE, &[]).unwrap();
        assert_eq!(all.len(), SQLITE.len());
        let done = vec![(1, SQLITE[0].checksum())];
        assert_eq!(pending(SQLITE, &done).unwrap().len(), SQLITE.len() - 1);
        assert!(pending(SQLITE, &[(1, "x".into())]).is_err());
        assert!(pending(SQLITE, &[(99, "x".into())]).is_err());
    }
}
