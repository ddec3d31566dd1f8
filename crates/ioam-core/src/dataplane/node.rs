//! A node's configuration compiled for the hot path. (STUB: to be implemented by core-dataplane.)
use crate::config::NodeConfig;
use crate::error::Result;

/// A validated, compiled node. Immutable: per-packet state (k-of-n counters) lives outside.
#[derive(Debug, Clone)]
pub struct Node {
    cfg: NodeConfig,
}

impl Node {
    /// Validates `cfg` ([`NodeConfig::validate`]) and precomputes what the fill needs.
    pub fn new(cfg: NodeConfig) -> Result<Node> {
        cfg.validate()?;
        Ok(Node { cfg })
    }

    pub fn config(&self) -> &NodeConfig {
        &self.cfg
    }
}
