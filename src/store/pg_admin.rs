//! Creating and dropping throw-away PostgreSQL databases, for tests and
//! benchmarks that must not share state.

use anyhow::Context;
use sqlx::Connection;

/// A database created for one run; `drop_now` removes it. One that is
/// dropped without `drop_now` (a test that panicked, a bench that failed)
/// is removed from a helper thread, so failed runs leak no databases.
pub struct ScratchDatabase {
    pub url: String,
    admin_url: String,
    name: String,
    removed: bool,
}

fn with_database(url: &str, db: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .context("a PostgreSQL URL starts with postgres://")?
        + 3;
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

impl ScratchDatabase {
    /// Creates `<prefix>_<random>` on the server `admin_url` points at.
    pub async fn create(admin_url: &str, prefix: &str) -> anyhow::Result<ScratchDatabase> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {admin_url}"))?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating database {name}"))?;
        conn.close().await.ok();
        Ok(ScratchDatabase {
            url: with_database(admin_url, &name)?,
            admin_url: admin_url.to_owned(),
            name,
            removed: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, ending any connections still open to it.
    pub async fn drop_now(mut self) -> anyhow::Result<()> {
        self.removed = true;
        remove(&self.admin_url, &self.name).await
    }
}

async fn remove(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .with_context(|| format!("dropping database {name}"))?;
    conn.close().await.ok();
    Ok(())
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // Drop cannot await, and may run inside a runtime (or while a test
        // unwinds): a short-lived thread with its own runtime does the work.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let worker = std::thread::spawn(move || -> anyhow::Result<()> {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(remove(&admin_url, &name))
        });
        match worker.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop scratch database {}: {e:#}", self.name),
            Err(_) => eprintln!("could not drop scratch database {}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_is_swapped_in_the_url() {
        assert_eq!(
            super::with_database("postgres://u@h:5432/test?sslmode=disable", "x").unwrap(),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://h", "x").unwrap(),
            "postgres://h/x"
        );
    }
}
