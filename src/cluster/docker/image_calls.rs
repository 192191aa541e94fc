//! The engine's image calls — look up, pull, import a root file system, build from a context —
//! as the images part asks for them ([`ImageEngine`]). Each call is one Engine API request that
//! Docker 20.10 (API 1.41) and newer answer alike; a build uses the classic builder, which every
//! engine has, not BuildKit.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use bollard::models::{BuildInfo, CreateImageInfo, ErrorDetail};
use bollard::query_parameters::{BuildImageOptions, CreateImageOptions};
use futures_util::{Stream, StreamExt};

use super::engine::{status_is, Engine};
use crate::images::{ImageEngine, Present};

/// `repo:tag` split; a reference without a tag means `latest`.
fn repo_and_tag(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (reference, "latest"),
    }
}

/// One message of an engine progress stream: its error, and its output line.
trait Message {
    fn error(&self) -> Option<String>;
    fn line(&self) -> Option<&str>;
}

/// The words of an engine's error detail.
fn words(detail: Option<&ErrorDetail>) -> Option<String> {
    detail.map(|d| d.message.clone().unwrap_or_else(|| "unknown error".into()))
}

impl Message for BuildInfo {
    fn error(&self) -> Option<String> {
        words(self.error_detail.as_ref())
    }
    fn line(&self) -> Option<&str> {
        self.stream.as_deref()
    }
}

impl Message for CreateImageInfo {
    fn error(&self) -> Option<String> {
        words(self.error_detail.as_ref())
    }
    fn line(&self) -> Option<&str> {
        None
    }
}

/// Drain an engine progress stream; the first error it reports, if any. Lines of output that
/// start a build step go to `step`.
async fn first_error<M: Message>(
    mut stream: impl Stream<Item = Result<M, bollard::errors::Error>> + Unpin,
    step: &dyn Fn(&str),
) -> Option<String> {
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(e) = info.error() {
                    return Some(e);
                }
                if let Some(line) = info.line().map(str::trim) {
                    if line.starts_with("Step ") {
                        step(line);
                    }
                }
            }
            Err(e) => return Some(e.to_string()),
        }
    }
    None
}

impl ImageEngine for Engine {
    fn image(&self, reference: &str) -> Result<Option<Present>> {
        match self.run(self.docker.inspect_image(reference)) {
            Ok(i) => Ok(Some(Present {
                id: i.id.unwrap_or_default(),
                size: i.size.map_or(0, |s| s.max(0) as u64),
                labels: i.config.and_then(|c| c.labels).unwrap_or_default(),
            })),
            Err(e) if status_is(&e, 404) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot look up image {reference}")),
        }
    }

    fn pull(&self, reference: &str) -> Result<()> {
        let (repo, tag) = repo_and_tag(reference);
        let opts = CreateImageOptions {
            from_image: Some(repo.to_string()),
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let stream = self.docker.create_image(Some(opts), None, None);
        match self.run(first_error(Box::pin(stream), &|_| {})) {
            None => Ok(()),
            Some(why) => bail!("image {reference} cannot be pulled ({why})"),
        }
    }

    fn import_rootfs(&self, rootfs_tar: Vec<u8>, reference: &str) -> Result<()> {
        let (repo, tag) = repo_and_tag(reference);
        let opts = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let body = bollard::body_full(rootfs_tar.into());
        let stream = self.docker.create_image(Some(opts), Some(body), None);
        match self.run(first_error(Box::pin(stream), &|_| {})) {
            None => Ok(()),
            Some(why) => {
                bail!("the engine could not import the root file system as {reference}: {why}")
            }
        }
    }

    fn build(
        &self,
        context: Vec<u8>,
        reference: &str,
        args: &HashMap<String, String>,
        labels: &HashMap<String, String>,
        progress: &dyn Fn(&str),
    ) -> Result<()> {
        let opts = BuildImageOptions {
            dockerfile: "Dockerfile".into(),
            t: Some(reference.to_string()),
            buildargs: Some(args.clone()),
            labels: Some(labels.clone()),
            rm: true,
            forcerm: true,
            ..Default::default()
        };
        let body = bollard::body_full(context.into());
        let stream = self.docker.build_image(opts, None, Some(body));
        match self.run(first_error(Box::pin(stream), progress)) {
            None => Ok(()),
            Some(why) => bail!("building {reference} failed: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repository_and_tag() {
        assert_eq!(
            repo_and_tag("apache/kafka:4.1.1"),
            ("apache/kafka", "4.1.1")
        );
        assert_eq!(
            repo_and_tag("localhost:5000/kafka"),
            ("localhost:5000/kafka", "latest")
        );
        assert_eq!(
            repo_and_tag("kbench/debian:bookworm"),
            ("kbench/debian", "bookworm")
        );
    }
}
