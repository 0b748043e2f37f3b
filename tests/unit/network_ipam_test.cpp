// Host-local IPAM: addresses in order with the network, gateway and
// broadcast never given, idempotence, exhaustion, persistence, files of a
// killed process honoured (never empty, wherever the kill falls), reclamation of gone pods, threads and two
// "processes" (two allocators on one directory) never sharing an address,
// and allocation cost independent of how full the pool is.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ipam.hpp"
#include "leftovers.hpp"
#include "network_error.hpp"
#include "temp_dir.hpp"

namespace deckhand::network {
namespace {

namespace fs = std::filesystem;

// A directory of the test's own on tmpfs when there is one (fsync is cheap there).
class TempDir : public deckhand::test::TempDir {
 public:
  TempDir() : deckhand::test::TempDir("deckhand-ipam", fs::is_directory("/dev/shm") ? "/dev/shm" : "/tmp") {}
};

Prefix range(const std::string& text) { return parse_prefix(text, false, "range"); }
std::string text(const std::array<uint8_t, 16>& address) { return format_address(address, false); }
std::string read_text(const std::string& path) {
  std::ostringstream out;
  out << std::ifstream(path).rdbuf();
  return out.str();
}

TEST(NetworkIpam, HandsOutAddressesAfterTheGatewayAndIsIdempotentPerPod) {
  TempDir dir;
  Ipam ipam(dir.path() + "/ipam", range("10.88.0.0/24"));
  EXPECT_EQ(text(ipam.gateway()), "10.88.0.1");
  EXPECT_EQ(text(ipam.allocate("pod-a")), "10.88.0.2");
  EXPECT_EQ(text(ipam.allocate("pod-b")), "10.88.0.3");
  EXPECT_EQ(text(ipam.allocate("pod-a")), "10.88.0.2");
  EXPECT_EQ(ipam.free_count(), 256u - 3u - 2u);
  std::ifstream file(dir.path() + "/ipam/10.88.0.3");
  std::string holder;
  std::getline(file, holder);
  EXPECT_EQ(holder, "pod-b");
}

TEST(NetworkIpam, ExhaustionIsAClearError) {
  TempDir dir;
  Ipam ipam(dir.path() + "/ipam", range("10.88.0.0/29"));  // 8 addresses, 5 for pods
  std::set<std::string> given;
  for (int i = 0; i < 5; ++i) given.insert(text(ipam.allocate("pod-" + std::to_string(i))));
  EXPECT_EQ(given, (std::set<std::string>{"10.88.0.2", "10.88.0.3", "10.88.0.4", "10.88.0.5", "10.88.0.6"}));
  try {
    ipam.allocate("pod-5");
    FAIL() << "a sixth address was given";
  } catch (const NetworkError& e) {
    EXPECT_EQ(e.kind(), Failure::exhausted);
    EXPECT_NE(std::string(e.what()).find("the pod range 10.88.0.0/29 has no free address: its pool 10.88.0.2 .. "
                                             "10.88.0.6 holds 5, all in use"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(ipam.address_of("pod-5"));
  EXPECT_TRUE(ipam.release("pod-2"));
  EXPECT_EQ(text(ipam.allocate("pod-5")), "10.88.0.4");
}

TEST(NetworkIpam, APoolOfFourGivesFourAndRefusesTheFifth) {
  TempDir dir;
  Ipam ipam(dir.path() + "/ipam", range("10.88.0.0/24"), Ipam::Pool{10, 13});
  EXPECT_EQ(ipam.pool_size(), 4u);
  EXPECT_EQ(ipam.free_count(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(text(ipam.allocate("pod-" + std::to_string(i))), "10.88.0." + std::to_string(10 + i));
  try {
    ipam.allocate("pod-4");
    FAIL() << "a fifth address was given";
  } catch (const NetworkError& e) {
    EXPECT_EQ(e.kind(), Failure::exhausted);
    EXPECT_NE(std::string(e.what()).find("its pool 10.88.0.10 .. 10.88.0.13 holds 4, all in use"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(ipam.release("pod-1"));
  EXPECT_EQ(text(ipam.allocate("pod-4")), "10.88.0.11");
}

TEST(NetworkIpam, APoolMustLieBetweenTheGatewayAndTheBroadcast) {
  TempDir dir;
  for (const Ipam::Pool pool : {Ipam::Pool{1, 5}, Ipam::Pool{2, 255}, Ipam::Pool{9, 8}}) {
    try {
      Ipam ipam(dir.path() + "/ipam", range("10.88.0.0/24"), pool);
      FAIL() << pool.first << " .. " << pool.last << " was taken";
    } catch (const NetworkError& e) {
      EXPECT_EQ(e.kind(), Failure::invalid);
      EXPECT_NE(std::string(e.what()).find("must lie inside 10.88.0.0/24"), std::string::npos) << e.what();
    }
  }
}

TEST(NetworkIpam, AShrunkPoolKeepsThePodsOutsideItButNeverGivesTheirAddressesAgain) {
  TempDir dir;
  {
    Ipam wide(dir.path() + "/ipam", range("10.88.0.0/24"));
    for (int i = 0; i < 5; ++i) wide.allocate("pod-" + std::to_string(i));  // .2 to .6
  }
  Ipam narrow(dir.path() + "/ipam", range("10.88.0.0/24"), Ipam::Pool{5, 7});
  EXPECT_EQ(text(*narrow.address_of("pod-0")), "10.88.0.2");
  EXPECT_EQ(narrow.free_count(), 1u);  // .7: .5 and .6 are held
  EXPECT_TRUE(narrow.release("pod-0"));
  EXPECT_EQ(narrow.free_count(), 1u);  // .2 is outside the pool now
  EXPECT_EQ(text(narrow.allocate("new")), "10.88.0.7");
  EXPECT_THROW(narrow.allocate("one-more"), NetworkError);
}

TEST(NetworkIpam, ReleaseFreesTheFileAndTheAddressComesBackLast) {
  TempDir dir;
  Ipam ipam(dir.path() + "/ipam", range("10.88.0.0/24"));
  ipam.allocate("a");
  ipam.allocate("b");
  EXPECT_TRUE(ipam.release("a"));
  EXPECT_FALSE(ipam.release("a"));
  EXPECT_FALSE(fs::exists(dir.path() + "/ipam/10.88.0.2"));
  // FIFO: the address freed just now is not the next one given.
  EXPECT_EQ(text(ipam.allocate("c")), "10.88.0.4");
}

TEST(NetworkIpam, StatePersistsAcrossInstances) {
  TempDir dir;
  {
    Ipam ipam(dir.path() + "/ipam", range("10.88.0.0/24"));
    ipam.allocate("a");
    ipam.allocate("b");
  }
  Ipam again(dir.path() + "/ipam", range("10.88.0.0/24"));
  EXPECT_EQ(text(*again.address_of("b")), "10.88.0.3");
  EXPECT_EQ(again.pods(), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(text(again.allocate("c")), "10.88.0.4");
  EXPECT_EQ(again.free_count(), 256u - 3u - 3u);
}

TEST(NetworkIpam, AddressesOfAKilledProcessAreHonoured) {
  TempDir dir;
  const std::string ipam_dir = dir.path() + "/ipam";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Ipam ipam(ipam_dir, range("10.88.0.0/24"));
    for (int i = 0; i < 10; ++i) ipam.allocate("victim-" + std::to_string(i));
    ::kill(::getpid(), SIGKILL);  // mid-attach: no clean-up of any kind
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  Ipam ipam(ipam_dir, range("10.88.0.0/24"));
  EXPECT_EQ(ipam.pods().size(), 10u);
  for (int i = 0; i < 20; ++i) {
    const std::string address = text(ipam.allocate("next-" + std::to_string(i)));
    EXPECT_EQ(address, "10.88.0." + std::to_string(12 + i));
  }
}

TEST(NetworkIpam, AnEmptyFileHoldsNothing) {
  // Claims are linked whole; an empty file is a leftover of an older version.
  TempDir dir;
  fs::create_directories(dir.path() + "/ipam");
  std::ofstream(dir.path() + "/ipam/10.88.0.2").flush();
  Ipam ipam(dir.path() + "/ipam", range("10.88.0.0/24"));
  EXPECT_FALSE(fs::exists(dir.path() + "/ipam/10.88.0.2"));
  EXPECT_EQ(ipam.pods(), std::set<std::string>{});
}

TEST(NetworkIpam, AProcessKilledAtAnyPointLeavesNoEmptyOrPartialClaim) {
  // A kill between creating a claim and writing its pod id used to leave an
  // empty file that held an address nobody owned (a flaky network test).
  TempDir dir;
  const std::string ipam_dir = dir.path() + "/ipam";
  std::mt19937 random(std::random_device{}());
  fs::create_directories(ipam_dir);
  for (int round = 0; round < 20; ++round) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      Ipam ipam(ipam_dir, range("10.88.0.0/24"));
      (void)!::write(ready[1], "r", 1);  // allocating from now on
      for (uint64_t i = 0;; ++i) {
        const std::string pod = "pod-" + std::to_string(i % 50);
        ipam.allocate(pod);
        ipam.release(pod);
      }
    }
    ::close(ready[1]);
    char byte = 0;
    ASSERT_EQ(::read(ready[0], &byte, 1), 1);
    ::close(ready[0]);
    // Somewhere in the loop (a cycle takes microseconds; the wait is random).
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 2000));
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    for (const auto& entry : fs::directory_iterator(ipam_dir)) {
      const std::string holder = read_text(entry.path().string());
      EXPECT_EQ(holder.rfind("pod-", 0), 0u) << entry.path() << " holds \"" << holder << "\"";
    }
  }
}

TEST(NetworkIpam, AddressesOfGonePodsAreReclaimed) {
  TempDir dir;
  const std::string netns = dir.path() + "/netns";
  fs::create_directories(netns);
  std::ofstream(netns + "/alive").flush();
  Ipam ipam(dir.path() + "/ipam", range("10.88.0.0/24"));
  ipam.allocate("alive");
  ipam.allocate("gone-1");
  ipam.allocate("gone-2");
  const std::set<std::string> gone = gone_pods(ipam.pods(), netns);
  EXPECT_EQ(gone, (std::set<std::string>{"gone-1", "gone-2"}));
  for (const auto& pod : gone) EXPECT_TRUE(ipam.release(pod));
  Ipam again(dir.path() + "/ipam", range("10.88.0.0/24"));
  EXPECT_EQ(again.pods(), (std::set<std::string>{"alive"}));
  EXPECT_TRUE(gone_pods({"", "../x"}, netns).count(""));
}

TEST(NetworkIpam, ThreadsNeverShareAnAddress) {
  TempDir dir;
  Ipam ipam(dir.path() + "/ipam", range("10.88.0.0/24"));
  std::mutex mutex;
  std::set<std::string> given;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const std::string address = text(ipam.allocate("t" + std::to_string(t) + "-" + std::to_string(i)));
        std::lock_guard lock(mutex);
        EXPECT_TRUE(given.insert(address).second) << address << " given twice";
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(given.size(), 240u);
  EXPECT_EQ(ipam.free_count(), 253u - 240u);
}

TEST(NetworkIpam, TwoAllocatorsOnOneDirectoryNeverShareAnAddress) {
  TempDir dir;
  // Two processes' views: each has its own free list, O_EXCL decides.
  Ipam first(dir.path() + "/ipam", range("10.88.0.0/24"));
  Ipam second(dir.path() + "/ipam", range("10.88.0.0/24"));
  std::set<std::string> one, two;
  std::thread a([&] {
    for (int i = 0; i < 100; ++i) one.insert(text(first.allocate("a-" + std::to_string(i))));
  });
  std::thread b([&] {
    for (int i = 0; i < 100; ++i) two.insert(text(second.allocate("b-" + std::to_string(i))));
  });
  a.join();
  b.join();
  EXPECT_EQ(one.size(), 100u);
  EXPECT_EQ(two.size(), 100u);
  for (const auto& address : one) EXPECT_FALSE(two.count(address)) << address << " given to both";
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path() + "/ipam"), fs::directory_iterator()), 200);
}

TEST(NetworkIpam, AllocationCostDoesNotGrowWithThePoolFilling) {
  TempDir dir;
  Ipam ipam(dir.path() + "/ipam", range("10.80.0.0/18"));  // 16,381 pod addresses
  const auto batch = [&](int start) {
    const auto begin = std::chrono::steady_clock::now();
    for (int i = start; i < start + 500; ++i) ipam.allocate("pod-" + std::to_string(i));
    return std::chrono::steady_clock::now() - begin;
  };
  const auto early = batch(0);
  for (int i = 500; i < 15800; ++i) ipam.allocate("pod-" + std::to_string(i));
  const auto late = batch(15800);  // the pool is 99% used now
  EXPECT_EQ(ipam.free_count(), 16381u - 16300u);
  EXPECT_LT(late, early * 5 + std::chrono::milliseconds(50))
      << "early " << std::chrono::duration<double, std::milli>(early).count() << " ms, late "
      << std::chrono::duration<double, std::milli>(late).count() << " ms";
}

}  // namespace
}  // namespace deckhand::network
