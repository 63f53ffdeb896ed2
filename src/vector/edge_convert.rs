//! Conversions between the `VectorIndex` port's types and qdrant-edge's.

use std::collections::HashMap;

use anyhow::anyhow;
use qdrant_edge::{
    AnyVariants, Condition, FieldCondition, JsonPath, Match, MatchAny, MatchValue, NamedQuery,
    Payload, PointId, PointStructPersisted, QueryEnum, ScoringQuery, SparseVector, ValueVariants,
    VectorInternal, VectorStructInternal, VectorStructPersisted,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::edge::{DENSE, SPARSE};
use crate::pipeline::ports::{Filter, Point, SparseVec};

pub(super) fn point_id(id: Uuid) -> PointId {
    PointId::Uuid(id)
}

pub(super) fn uuid_of(id: &PointId) -> anyhow::Result<Uuid> {
    match id {
        PointId::Uuid(u) => Ok(*u),
        PointId::NumId(n) => Err(anyhow!("unexpected numeric point id {n}")),
    }
}

pub(super) fn sparse(v: SparseVec) -> anyhow::Result<SparseVector> {
    SparseVector::new(v.indices, v.values).map_err(|e| anyhow!("bad sparse vector: {e}"))
}

pub(super) fn to_persisted(p: Point) -> anyhow::Result<PointStructPersisted> {
    let mut vectors: HashMap<String, VectorInternal> = HashMap::new();
    if let Some(d) = p.dense {
        vectors.insert(DENSE.into(), VectorInternal::from(d));
    }
    if let Some(s) = p.sparse {
        vectors.insert(SPARSE.into(), VectorInternal::from(sparse(s)?));
    }
    Ok(PointStructPersisted {
        id: point_id(p.id),
        vector: VectorStructPersisted::from(VectorStructInternal::Named(vectors)),
        payload: Some(Payload::from(p.payload)),
    })
}

pub(super) fn condition(key: &str, values: &[Value]) -> anyhow::Result<Condition> {
    let key: JsonPath = key
        .parse()
        .map_err(|_| anyhow!("bad payload key {key:?}"))?;
    let one = |v: &Value| -> anyhow::Result<ValueVariants> {
        match v {
            Value::String(s) => Ok(ValueVariants::String(s.clone())),
            Value::Bool(b) => Ok(ValueVariants::Bool(*b)),
            Value::Number(n) => n
                .as_i64()
                .map(ValueVariants::Integer)
                .ok_or_else(|| anyhow!("filter value {n} is not an integer")),
            other => Err(anyhow!("cannot filter on {other}")),
        }
    };
    let m = match values {
        [v] => Match::Value(MatchValue { value: one(v)? }),
        vs if vs.iter().all(Value::is_string) => Match::Any(MatchAny {
            any: AnyVariants::Strings(
                vs.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            ),
        }),
        vs => Match::Any(MatchAny {
            any: AnyVariants::Integers(
                vs.iter()
                    .map(|v| v.as_i64().ok_or_else(|| anyhow!("mixed filter values")))
                    .collect::<anyhow::Result<_>>()?,
            ),
        }),
    };
    Ok(Condition::Field(FieldCondition::new_match(key, m)))
}

pub(super) fn to_filter(f: &Filter) -> anyhow::Result<Option<qdrant_edge::Filter>> {
    if f.is_empty() {
        return Ok(None);
    }
    let mut out = qdrant_edge::Filter::new();
    out.must = Some(
        f.must
            .iter()
            .map(|(k, vs)| condition(k, vs))
            .collect::<anyhow::Result<_>>()?,
    );
    Ok(Some(out))
}

pub(super) fn nearest(name: &str, v: VectorInternal) -> ScoringQuery {
    ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery::new(v, name)))
}

pub(super) fn payload_map(p: Option<Payload>) -> Map<String, Value> {
    p.map(|p| p.0).unwrap_or_default()
}
