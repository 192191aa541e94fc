//! Metadata asked of one broker at a time, over Kafka's own protocol (Metadata v7, plaintext):
//! librdkafka sends its metadata requests to whichever broker it likes, and a broker cut off
//! from the controller keeps answering with its stale view — it still calls itself the leader.
//! Asking every broker and keeping the freshest answer (highest leader epochs) gives the
//! cluster's real view, and the leader epochs themselves.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::metadata::PartitionInfo;
use crate::names::BrokerId;

/// Metadata API key and the version asked for (the first with leader epochs; Kafka 4 still
/// serves it, and it is not yet a "flexible" version with tagged fields).
const API_METADATA: i16 = 3;
const VERSION: i16 = 7;

/// What one broker says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BrokerView {
    /// Brokers it lists (registered, not fenced, as far as it knows), sorted.
    pub brokers: Vec<BrokerId>,
    /// The topic's partitions, by index, with their leader epochs.
    pub partitions: Vec<PartitionInfo>,
}

impl BrokerView {
    /// How recent the view is: the sum of its partitions' leader epochs.
    fn freshness(&self) -> i64 {
        (self.partitions.iter())
            .map(|p| i64::from(p.leader_epoch.unwrap_or(-1)))
            .sum()
    }
}

/// The freshest of several brokers' views: the one with the highest leader epochs (ties: the
/// first). A broker that missed a leader change has an older epoch and loses.
pub fn freshest(views: Vec<BrokerView>) -> Option<BrokerView> {
    let mut best: Option<BrokerView> = None;
    for v in views {
        if best.as_ref().is_none_or(|b| v.freshness() > b.freshness()) {
            best = Some(v);
        }
    }
    best
}

/// Ask the broker at `addr` for `topic`'s metadata.
pub fn ask(addr: &str, topic: &str, timeout: Duration) -> Result<BrokerView> {
    let sock: SocketAddr = addr
        .to_socket_addrs()?
        .next()
        .with_context(|| format!("{addr} does not resolve"))?;
    let mut s = TcpStream::connect_timeout(&sock, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(&request(topic, 1))?;
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let n = i32::from_be_bytes(len);
    if !(4..=16 << 20).contains(&n) {
        bail!("{addr} answered with a frame of {n} bytes");
    }
    let mut body = vec![0u8; n as usize];
    s.read_exact(&mut body)?;
    parse(&body)
}

/// A Metadata v7 request for one topic, framed.
fn request(topic: &str, correlation: i32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(API_METADATA.to_be_bytes());
    b.extend(VERSION.to_be_bytes());
    b.extend(correlation.to_be_bytes());
    put_str(&mut b, "kbench-metadata");
    b.extend(1i32.to_be_bytes());
    put_str(&mut b, topic);
    b.push(0); // allow_auto_topic_creation: false
    let mut framed = (b.len() as i32).to_be_bytes().to_vec();
    framed.extend(b);
    framed
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as i16).to_be_bytes());
    b.extend(s.as_bytes());
}

/// A cursor over a response body.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.0.len() < n {
            bail!("metadata response ends early");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i8(&mut self) -> Result<i8> {
        Ok(self.take(1)?[0] as i8)
    }
    fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into()?))
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into()?))
    }
    /// A (nullable) string, skipped.
    fn skip_str(&mut self) -> Result<()> {
        let n = self.i16()?;
        if n > 0 {
            self.take(n as usize)?;
        }
        Ok(())
    }
    fn ids(&mut self) -> Result<Vec<BrokerId>> {
        let n = self.i32()?.max(0);
        (0..n).map(|_| Ok(self.i32()? as BrokerId)).collect()
    }
}

/// A Metadata v7 response body (after the length): correlation id, then the fields.
fn parse(body: &[u8]) -> Result<BrokerView> {
    let mut r = Reader(body);
    r.i32()?; // correlation id
    r.i32()?; // throttle_time_ms
    let mut brokers = Vec::new();
    for _ in 0..r.i32()?.max(0) {
        brokers.push(r.i32()? as BrokerId);
        r.skip_str()?; // host
        r.i32()?; // port
        r.skip_str()?; // rack
    }
    brokers.sort_unstable();
    r.skip_str()?; // cluster_id
    r.i32()?; // controller_id (in KRaft: a random broker, not the active controller)
    let mut partitions = BTreeMap::new();
    for _ in 0..r.i32()?.max(0) {
        let topic_error = r.i16()?;
        r.skip_str()?; // name
        r.i8()?; // is_internal
        for _ in 0..r.i32()?.max(0) {
            let error = r.i16()?;
            let index = r.i32()?;
            let leader = r.i32()?;
            let epoch = r.i32()?;
            let replicas = r.ids()?;
            let isr = r.ids()?;
            r.ids()?; // offline replicas
            if error == 0 || error == 5 || error == 9 {
                // 5 LEADER_NOT_AVAILABLE, 9 REPLICA_NOT_AVAILABLE: still a valid observation.
                partitions.insert(
                    index,
                    PartitionInfo {
                        partition: index,
                        leader: (leader >= 0).then_some(leader as BrokerId),
                        replicas,
                        isr,
                        leader_epoch: Some(epoch),
                    },
                );
            }
        }
        if topic_error != 0 && partitions.is_empty() {
            bail!("metadata error {topic_error} for the topic");
        }
    }
    Ok(BrokerView {
        brokers,
        partitions: partitions.into_values().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(epochs: &[i32], leader: u32) -> BrokerView {
        BrokerView {
            brokers: vec![1, 2, 3],
            partitions: (epochs.iter().enumerate())
                .map(|(i, e)| PartitionInfo {
                    partition: i as i32,
                    leader: Some(leader),
                    replicas: vec![1, 2, 3],
                    isr: vec![1, 2, 3],
                    leader_epoch: Some(*e),
                })
                .collect(),
        }
    }

    #[test]
    fn the_isolated_leaders_stale_view_loses_to_the_fresh_one() {
        let stale = view(&[3, 1], 1);
        let fresh = view(&[4, 1], 2);
        assert_eq!(freshest(vec![stale.clone(), fresh.clone()]), Some(fresh));
        assert_eq!(freshest(vec![]), None);
    }

    #[test]
    fn a_request_is_framed_metadata_v7_for_one_topic() {
        let r = request("t", 9);
        assert_eq!(&r[..4], &(r.len() as i32 - 4).to_be_bytes());
        assert_eq!(&r[4..8], &[0, 3, 0, 7]);
        assert_eq!(&r[r.len() - 4..], &[0, 1, b't', 0]);
    }

    #[test]
    fn a_response_parses_into_partitions_with_epochs() {
        let mut b = Vec::new();
        b.extend(9i32.to_be_bytes()); // correlation
        b.extend(0i32.to_be_bytes()); // throttle
        b.extend(1i32.to_be_bytes()); // one broker
        b.extend(2i32.to_be_bytes());
        put_str(&mut b, "h");
        b.extend(9093i32.to_be_bytes());
        b.extend((-1i16).to_be_bytes());
        b.extend((-1i16).to_be_bytes()); // cluster id
        b.extend(2i32.to_be_bytes()); // controller
        b.extend(1i32.to_be_bytes()); // one topic
        b.extend(0i16.to_be_bytes());
        put_str(&mut b, "t");
        b.push(0);
        b.extend(1i32.to_be_bytes()); // one partition
        b.extend(0i16.to_be_bytes());
        b.extend(0i32.to_be_bytes());
        b.extend(2i32.to_be_bytes()); // leader
        b.extend(7i32.to_be_bytes()); // epoch
        for ids in [&[2, 3][..], &[2][..], &[][..]] {
            b.extend((ids.len() as i32).to_be_bytes());
            for id in ids {
                b.extend(i32::to_be_bytes(*id));
            }
        }
        let v = parse(&b).unwrap();
        assert_eq!(v.brokers, [2]);
        assert_eq!(v.partitions[0].leader, Some(2));
        assert_eq!(v.partitions[0].leader_epoch, Some(7));
        assert_eq!(v.partitions[0].isr, [2]);
        assert!(parse(&b[..20]).is_err());
    }
}
