// The standalone pod source: a directory of manifest files (the agent
// config's manifest directory, like the kubelet's staticPodPath) is the
// persistent desired set of pods. scan() reads it into a Snapshot, watched
// with inotify so a change is seen at once; apply() and remove() are how
// `deckhand apply -f` and `deckhand delete` change it through the agent.
// docs/standalone-mode.md describes the rules for users.
//
// Bad input never changes running pods: a file that fails to read, parse or
// validate keeps the pods of its last good version in the snapshot, and its
// error is reported. Only deleting a file (or a good edit) removes its pods.
//
// Not thread-safe: one thread (the agent's event loop) owns a ManifestDir
// and makes every call on it.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "pods/pod.hpp"

struct stat;

namespace deckhand::pods {

// A problem with the directory itself (missing, not a real directory, unsafe
// owner or mode, unreadable), naming it. The caller keeps its current pods.
struct ManifestDirError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SourcedPod {
  Pod pod;             // uid and spec.nodeName set
  std::string source;  // the file that defines it: <dir>/<file name>
};

struct FileError {
  std::string path;
  std::string message;  // whole, starting with the path: "<path>: document 2: ..."
};

struct Snapshot {
  std::map<std::string, SourcedPod> pods;  // by "namespace/name"
  std::vector<FileError> errors;           // in file name order
};

enum class ApplyAction { created, configured, unchanged };
const char* to_string(ApplyAction action);  // "created", "configured", "unchanged"

struct AppliedPod {
  std::string namespace_;
  std::string name;
  ApplyAction action;
};

struct ApplyResult {
  std::vector<AppliedPod> applied;  // in the order given
  std::vector<std::string> errors;  // one message per pod refused or not written
};

// kubectl's line for an applied pod: "pod/web created".
std::string apply_line(const AppliedPod& applied);

struct DeleteResult {
  bool deleted = false;
  std::string message;  // `pod "web" deleted`, or why not: `pods "web" not found`
};

class ManifestDir {
 public:
  // Creates `dir` (mode 0700) when it is missing, and starts watching it.
  // Throws ManifestDirError.
  ManifestDir(std::string dir, std::string node_name);
  ~ManifestDir();
  ManifestDir(const ManifestDir&) = delete;
  ManifestDir& operator=(const ManifestDir&) = delete;

  // Reads every manifest file (*.yaml, *.yml, *.json; not hidden ones, not in
  // subdirectories; symlinks followed), parses and validates each pod, gives
  // a pod without metadata.uid its static_pod_uid and every pod this node's
  // name. A file whose (device, inode, size, mtime, ctime) is unchanged since
  // the last scan is not read again (unless it had changed within 50 ms of
  // that read). Refuses (ManifestDirError) a directory that is a symlink, not
  // owned by root (or this agent's user) or writable by group or others:
  // whoever can write in it can run privileged pods.
  Snapshot scan();

  // The inotify descriptor (non-blocking): readable when the directory
  // changed. The event loop polls it and then calls drain().
  int fd() const { return inotify_fd_; }

  // Reads every pending event; true when one may change the snapshot (then
  // call scan()). Events for hidden and temporary files are not relevant.
  bool drain();

  // Writes each pod to its own file <namespace>_<name>.yaml (JSON text, which
  // is YAML), atomically, mode 0600. Nothing is written when any pod is
  // invalid. A pod defined by another file, or whose file defines other pods
  // too, is refused naming that file (edit it there). Throws
  // ManifestDirError when the directory is unsafe.
  ApplyResult apply(const std::vector<Pod>& pods);

  // Deletes the file that defines the pod when it defines only that pod.
  // Throws ManifestDirError when the directory is unsafe.
  DeleteResult remove(const std::string& namespace_, const std::string& name);

  const std::string& dir() const { return dir_; }

  // How many files scan() has read and parsed since construction.
  std::size_t files_parsed() const { return files_parsed_; }

 private:
  // What identifies a version of a file without reading it.
  struct FileStamp {
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };
  // What the last scan knows of one file.
  struct FileState {
    FileStamp stamp;
    std::vector<Pod> parsed;  // the last good version's pods, as the file gives them
    std::vector<Pod> pods;    // the same with uid and spec.nodeName set
    std::string error;        // why the current version is refused; "" when good
    bool read_again = false;  // changed too recently to trust the stamp
  };

  static FileStamp stamp_of(const struct ::stat& st);
  int open_checked_dir() const;
  void watch();
  Snapshot scan_at(int dir_fd);
  void read_file(int dir_fd, const std::string& name, FileState& state);
  std::string path_of(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
  std::string node_name_;
  int inotify_fd_ = -1;
  int watch_ = -1;                          // -1 when the watch was lost (directory deleted or moved)
  std::map<std::string, FileState> files_;  // by file name, sorted: the first file wins
  std::size_t files_parsed_ = 0;
};

}  // namespace deckhand::pods
