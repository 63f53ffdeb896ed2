//! A channel that appends each delivery to a JSON-lines file in the data
//! dir instead of sending it anywhere. It is exactly-once: `lookup` finds a
//! delivery already written under the same idempotency key.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use async_trait::async_trait;
use serde_json::json;

use crate::domain::{ChannelKind, Timestamp};
use crate::pipeline::ports::{Channel, ChannelError, Guarantee};
use crate::pipeline::views::{OutboxEntry, Receipt};

pub struct DevSink {
    path: PathBuf,
    kind: ChannelKind,
    lock: tokio::sync::Mutex<()>,
}

impl DevSink {
    /// `kind` is what `Channel::kind` reports; as a fallback it serves all.
    pub fn new(path: PathBuf, kind: ChannelKind) -> Self {
        DevSink {
            path,
            kind,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    fn find(&self, key: &str) -> std::io::Result<Option<Receipt>> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        for line in BufReader::new(file).lines() {
            let line = line?;
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["idempotency_key"] == key {
                let id = v["message_id"].as_str().unwrap_or_default().to_owned();
                return Ok(Some(Receipt {
                    channel_message_id: id,
                }));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl Channel for DevSink {
    fn kind(&self) -> ChannelKind {
        self.kind
    }

    fn guarantee(&self) -> Guarantee {
        Guarantee::ExactlyOnce
    }

    async fn send(&self, entry: &OutboxEntry) -> Result<Receipt, ChannelError> {
        let _guard = self.lock.lock().await;
        if let Some(r) = self
            .find(&entry.idempotency_key)
            .map_err(|e| ChannelError::Temporary(e.to_string()))?
        {
            return Ok(r);
        }
        let message_id = format!("dev-{}", uuid::Uuid::now_v7());
        let line = json!({
            "idempotency_key": entry.idempotency_key,
            "message_id": message_id,
            "channel": entry.channel.as_str(),
            "recipient": entry.recipient,
            "subject": entry.subject,
            "body": entry.body,
            "at": Timestamp::now().to_string(),
        });
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            writeln!(f, "{line}")?;
            f.sync_data()
        })
        .await
        .map_err(|e| ChannelError::Temporary(e.to_string()))?
        .map_err(|e| ChannelError::Temporary(format!("writing {}: {e}", self.path.display())))?;
        Ok(Receipt {
            channel_message_id: message_id,
        })
    }

    async fn lookup(&self, key: &str) -> Result<Option<Receipt>, ChannelError> {
        let _guard = self.lock.lock().await;
        self.find(key)
            .map_err(|e| ChannelError::Temporary(e.to_string()))
    }
}
