//! Turning a fault's target into a broker id at the moment it fires: `leader:P` and
//! `follower:P` from the topic's metadata, `controller` from the quorum, `random` with the run's
//! seeded RNG among the nodes that are up.

use anyhow::{bail, Context, Result};
use rand::seq::IndexedRandom;

use super::plan::Target;
use crate::cluster::{ClusterBackend, Member};
use crate::kafka::metadata::{MetadataClient, PartitionInfo};
use crate::names::BrokerId;

/// What resolution needs to know about the cluster right now.
pub trait ClusterView {
    /// Leader, replicas and ISR of each partition of the run's topic.
    fn partitions(&self) -> Result<Vec<PartitionInfo>>;
    /// The active KRaft quorum leader, if known.
    fn controller(&self) -> Option<BrokerId>;
    /// Ids of the nodes that are up.
    fn up_nodes(&self) -> Vec<BrokerId>;
}

/// The live cluster: metadata through librdkafka, the rest from the backend.
pub struct LiveView<'a> {
    /// The cluster backend: controller and node states.
    pub backend: &'a dyn ClusterBackend,
    /// Metadata client for the topic's partitions.
    pub metadata: &'a MetadataClient,
    /// The run's topic, whose partitions `leader:P` and `follower:P` name.
    pub topic: &'a str,
}

impl ClusterView for LiveView<'_> {
    fn partitions(&self) -> Result<Vec<PartitionInfo>> {
        self.metadata
            .partitions(self.topic, std::time::Duration::from_secs(2))
    }

    fn controller(&self) -> Option<BrokerId> {
        self.backend.controller()
    }

    fn up_nodes(&self) -> Vec<BrokerId> {
        self.backend
            .status()
            .map(|s| {
                s.nodes
                    .iter()
                    .filter(|n| n.summary() == crate::cluster::NodeState::Up)
                    .map(|n| n.id)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn partition(view: &dyn ClusterView, p: i32) -> Result<PartitionInfo> {
    view.partitions()?
        .into_iter()
        .find(|i| i.partition == p)
        .with_context(|| format!("partition {p} is not in the topic's metadata"))
}

/// The member `target` names now. `All` names no single one.
pub fn resolve(target: Target, view: &dyn ClusterView, rng: &mut impl rand::Rng) -> Result<Member> {
    if target == Target::Registry {
        return Ok(Member::Registry);
    }
    resolve_broker(target, view, rng).map(Member::Broker)
}

fn resolve_broker(
    target: Target,
    view: &dyn ClusterView,
    rng: &mut impl rand::Rng,
) -> Result<BrokerId> {
    Ok(match target {
        Target::Broker(n) => n,
        Target::Leader(p) => {
            let info = partition(view, p)?;
            info.leader
                .with_context(|| format!("partition {p} has no leader right now"))?
        }
        Target::Follower(p) => {
            let info = partition(view, p)?;
            let mut followers: Vec<BrokerId> = info
                .isr
                .iter()
                .copied()
                .filter(|r| Some(*r) != info.leader)
                .collect();
            followers.sort_unstable();
            let f = followers
                .first()
                .with_context(|| format!("partition {p} has no in-sync follower right now"))?;
            *f
        }
        Target::Controller => view
            .controller()
            .context("the quorum has no known leader right now")?,
        Target::Random => *view
            .up_nodes()
            .choose(rng)
            .context("no node is up to pick from")?,
        Target::All => bail!("target \"all\" names every node, not one"),
        Target::Registry => bail!("the registry is not a broker"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    struct Fake {
        parts: Vec<PartitionInfo>,
        controller: Option<BrokerId>,
        up: Vec<BrokerId>,
    }

    impl ClusterView for Fake {
        fn partitions(&self) -> Result<Vec<PartitionInfo>> {
            Ok(self.parts.clone())
        }
        fn controller(&self) -> Option<BrokerId> {
            self.controller
        }
        fn up_nodes(&self) -> Vec<BrokerId> {
            self.up.clone()
        }
    }

    fn fake() -> Fake {
        let p = |partition, leader: i32, isr: &[BrokerId]| PartitionInfo {
            partition,
            leader: BrokerId::try_from(leader).ok(),
            replicas: vec![1, 2, 3],
            isr: isr.to_vec(),
            leader_epoch: None,
        };
        Fake {
            parts: vec![p(0, 2, &[2, 3, 1]), p(1, 3, &[3]), p(2, -1, &[])],
            controller: Some(1),
            up: vec![1, 3],
        }
    }

    #[test]
    fn resolves_each_target_kind() {
        let v = fake();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut node = |t| match resolve(t, &v, &mut rng).unwrap() {
            Member::Broker(n) => n,
            Member::Registry => 0,
        };
        assert_eq!(node(Target::Broker(3)), 3);
        assert_eq!(node(Target::Leader(0)), 2);
        assert_eq!(node(Target::Follower(0)), 1);
        assert_eq!(node(Target::Controller), 1);
        assert_eq!(node(Target::Registry), 0);
        for _ in 0..20 {
            assert!(
                [1, 3].contains(&node(Target::Random)),
                "random picks only nodes that are up"
            );
        }
    }

    #[test]
    fn unresolvable_targets_are_errors() {
        let v = fake();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert!(resolve(Target::Leader(2), &v, &mut rng)
            .unwrap_err()
            .to_string()
            .contains("no leader"));
        assert!(resolve(Target::Follower(1), &v, &mut rng)
            .unwrap_err()
            .to_string()
            .contains("no in-sync follower"));
        assert!(resolve(Target::Leader(9), &v, &mut rng).is_err());
        assert!(resolve(Target::All, &v, &mut rng).is_err());
    }

    #[test]
    fn random_is_seeded() {
        let v = fake();
        let pick = |seed| {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            (0..8)
                .map(|_| resolve(Target::Random, &v, &mut rng).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(pick(7), pick(7));
    }
}
