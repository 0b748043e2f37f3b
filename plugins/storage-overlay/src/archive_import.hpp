// Loading images from an archive, for nodes without a registry (air-gapped):
//
//   - an OCI image layout as a tar (`skopeo copy ... oci-archive:FILE:NAME`,
//     `ctr images export`, `docker save` of Docker 25+): oci-layout,
//     index.json and blobs/<alg>/<hex>; the image names come from the index
//     entries' annotations "io.containerd.image.name" or
//     "org.opencontainers.image.ref.name";
//   - a `docker save` archive of any Docker version: manifest.json lists
//     each image's config, layers and RepoTags.
//
// Either may be compressed (gzip, zstd, xz, bzip2). Every blob is checked
// against its digest and size, every layer against the config's diff_id; a
// multi-platform index gets this host's platform. Images the archive does
// not name, or names only by a tag ("latest"), take the name given.
#pragma once

#include <string>
#include <vector>

#include "archive_files.hpp"
#include "content_store.hpp"
#include "image_store.hpp"
#include "layer_installer.hpp"
#include "manifest.hpp"

namespace deckhand::storage {

struct ImportOptions {
  std::string name;  // a reference, for an archive whose image has no full name; "" = none
  Platform platform = host_platform();
  ArchiveLimits limits;
  InstallOptions install;
};

class ArchiveImporter {
 public:
  // scratch_root: a directory on the store's filesystem for the extraction.
  ArchiveImporter(ContentStore& content, ImageStore& images, LayerInstaller& installer, std::string scratch_root)
      : content_(content), images_(images), installer_(installer), scratch_root_(std::move(scratch_root)) {}

  // The image records made (one per name). Throws StorageError with
  // "load FILE: ..." context; no record is written unless all of the
  // archive's images are complete.
  std::vector<ImageRecord> load(const std::string& archive_path, const ImportOptions& options);

 private:
  ContentStore& content_;
  ImageStore& images_;
  LayerInstaller& installer_;
  std::string scratch_root_;
};

}  // namespace deckhand::storage
