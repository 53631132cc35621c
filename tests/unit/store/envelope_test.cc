#include "server/store/envelope.h"

#include <dirent.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/store/test_util.h"

namespace signet::server {
namespace {

using testing::FileMode;
using ::testing::HasSubstr;
using testing::TempFolder;
using testing::WriteFileWithMode;

constexpr size_t kOverhead = 1 + 12 + 16;

std::string TestKek(char fill = 'k') {
  std::string kek(32, fill);
  kek[0] = '\0';
  kek[31] = '\n';  // Raw KEKs may hold any byte, newlines included.
  return kek;
}

Envelope MakeEnvelope(const std::string& kek) {
  absl::StatusOr<Envelope> envelope = Envelope::Create(kek);
  EXPECT_TRUE(envelope.ok()) << envelope.status();
  return *std::move(envelope);
}

TEST(Envelope, SealedKeyOpensWithTheSameKekAndKid) {
  Envelope envelope = MakeEnvelope(TestKek());
  const std::string secret("private \0 key bytes", 19);

  absl::StatusOr<std::string> sealed = envelope.Seal(secret, "kid-1");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->size(), kOverhead + secret.size());
  EXPECT_EQ((*sealed)[0], '\x01');
  EXPECT_FALSE(absl::StrContains(*sealed, "private"));

  absl::StatusOr<std::string> opened = envelope.Open(*sealed, "kid-1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(*opened == secret);
}

TEST(Envelope, EmptyPlaintextRoundTrips) {
  Envelope envelope = MakeEnvelope(TestKek());
  absl::StatusOr<std::string> sealed = envelope.Seal("", "kid");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kOverhead);
  absl::StatusOr<std::string> opened = envelope.Open(*sealed, "kid");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->empty());
}

TEST(Envelope, WrongKekIsPermissionDenied) {
  absl::StatusOr<std::string> sealed = MakeEnvelope(TestKek('a')).Seal("secret", "kid");
  ASSERT_TRUE(sealed.ok());

  absl::StatusOr<std::string> opened = MakeEnvelope(TestKek('b')).Open(*sealed, "kid");

  EXPECT_EQ(opened.status(),
            absl::PermissionDeniedError("wrong key-encryption key or tampered key record"));
}

TEST(Envelope, SealedKeyMovedToAnotherKidIsPermissionDenied) {
  Envelope envelope = MakeEnvelope(TestKek());
  absl::StatusOr<std::string> sealed = envelope.Seal("secret", "kid-1");
  ASSERT_TRUE(sealed.ok());

  EXPECT_EQ(envelope.Open(*sealed, "kid-2").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(envelope.Open(*sealed, "").status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(Envelope, EnvelopeShorterThanItsFixedPartsIsDataLoss) {
  Envelope envelope = MakeEnvelope(TestKek());
  absl::StatusOr<std::string> sealed = envelope.Seal("secret", "kid");
  ASSERT_TRUE(sealed.ok());

  for (size_t size = 0; size < kOverhead; ++size) {
    EXPECT_EQ(envelope.Open(sealed->substr(0, size), "kid").status().code(),
              absl::StatusCode::kDataLoss)
        << "size " << size;
  }
  // Longer prefixes parse, but their tag cannot match.
  for (size_t size = kOverhead; size < sealed->size(); ++size) {
    EXPECT_EQ(envelope.Open(sealed->substr(0, size), "kid").status().code(),
              absl::StatusCode::kPermissionDenied)
        << "size " << size;
  }
}

TEST(Envelope, UnknownVersionIsDataLoss) {
  Envelope envelope = MakeEnvelope(TestKek());
  absl::StatusOr<std::string> sealed = envelope.Seal("secret", "kid");
  ASSERT_TRUE(sealed.ok());
  (*sealed)[0] = '\x02';

  EXPECT_EQ(envelope.Open(*sealed, "kid").status(),
            absl::DataLossError("sealed key record has unknown envelope version 2"));
}

TEST(Envelope, EveryFlippedBitIsRefused) {
  Envelope envelope = MakeEnvelope(TestKek());
  absl::StatusOr<std::string> sealed = envelope.Seal("a private key", "kid");
  ASSERT_TRUE(sealed.ok());

  for (size_t i = 0; i < sealed->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = *sealed;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      EXPECT_EQ(envelope.Open(tampered, "kid").status().code(),
                i == 0 ? absl::StatusCode::kDataLoss : absl::StatusCode::kPermissionDenied)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(Envelope, EverySealUsesAFreshNonce) {
  Envelope envelope = MakeEnvelope(TestKek());
  std::set<std::string> nonces;
  std::set<std::string> ciphertexts;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::string> sealed = envelope.Seal("same plaintext", "kid");
    ASSERT_TRUE(sealed.ok());
    nonces.insert(sealed->substr(1, 12));
    ciphertexts.insert(sealed->substr(13));
  }
  EXPECT_EQ(nonces.size(), 100u);
  EXPECT_EQ(ciphertexts.size(), 100u);
}

TEST(Envelope, KekOfAnyOtherLengthIsInvalidArgument) {
  for (size_t size : {0, 16, 31, 33, 64}) {
    EXPECT_EQ(Envelope::Create(std::string(size, 'k')).status().code(),
              absl::StatusCode::kInvalidArgument)
        << "size " << size;
  }
}

TEST(Envelope, FingerprintIsTheFirstEightBytesOfSha256InHex) {
  // SHA-256 of 32 zero bytes is 66687aadf862bd77 6c8fc18b...
  EXPECT_EQ(MakeEnvelope(std::string(32, '\0')).fingerprint(), "66687aadf862bd77");
  EXPECT_NE(MakeEnvelope(TestKek('a')).fingerprint(), MakeEnvelope(TestKek('b')).fingerprint());
}

class KekFileTest : public ::testing::Test {
 protected:
  std::string Kek() const {
    std::string kek;
    for (int i = 0; i < 32; ++i) kek += static_cast<char>(i * 7 + 3);
    return kek;
  }

  absl::StatusOr<std::string> ReadWritten(const std::string& contents, mode_t mode = 0600) {
    const std::string path = folder_.Child("kek");
    WriteFileWithMode(path, contents, mode);
    return ReadKekFile(path);
  }

  TempFolder folder_;
};

TEST_F(KekFileTest, ReadsRawHexAndBase64WithOrWithoutOneNewline) {
  const std::string hex = absl::BytesToHexString(Kek());
  const std::string base64 = absl::Base64Escape(Kek());
  ASSERT_EQ(base64.size(), 44u);
  for (const std::string& contents :
       {Kek(), Kek() + "\n", hex, hex + "\n", absl::AsciiStrToUpper(hex), base64, base64 + "\n"}) {
    absl::StatusOr<std::string> kek = ReadWritten(contents);
    ASSERT_TRUE(kek.ok()) << kek.status() << " for a file of " << contents.size() << " bytes";
    EXPECT_TRUE(*kek == Kek()) << "for a file of " << contents.size() << " bytes";
  }
}

TEST_F(KekFileTest, RawKeyEndingInANewlineByteIsRaw) {
  std::string kek = Kek();
  kek[31] = '\n';
  absl::StatusOr<std::string> read = ReadWritten(kek);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == kek);
}

TEST_F(KekFileTest, FileOthersCanReadIsRefusedWithAChmodHint) {
  const std::string hex = absl::BytesToHexString(Kek());

  absl::StatusOr<std::string> kek = ReadWritten(hex, 0644);

  EXPECT_EQ(kek.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(kek.status().message(), HasSubstr("chmod 0600 " + folder_.Child("kek")));
  EXPECT_FALSE(absl::StrContains(kek.status().message(), hex));
  EXPECT_EQ(ReadWritten(hex, 0640).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadWritten(hex, 0602).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(ReadWritten(hex, 0400).ok());
}

TEST_F(KekFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadKekFile(folder_.Child("absent")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KekFileTest, MalformedContentsAreInvalidArgumentWithoutQuotingThem) {
  const std::string hex = absl::BytesToHexString(Kek());
  std::string not_hex = hex;
  not_hex[10] = 'g';
  std::string not_base64 = absl::Base64Escape(Kek());
  not_base64[5] = '*';
  for (const std::string& contents :
       {std::string(), Kek().substr(0, 31), Kek() + "\n\n", hex.substr(0, 63), not_hex, not_base64,
        absl::WebSafeBase64Escape(Kek()) + "xx", Kek() + Kek()}) {
    absl::StatusOr<std::string> kek = ReadWritten(contents);
    EXPECT_EQ(kek.status().code(), absl::StatusCode::kInvalidArgument)
        << "for a file of " << contents.size() << " bytes";
    if (!contents.empty()) {
      EXPECT_FALSE(absl::StrContains(kek.status().message(), contents));
    }
  }
}

TEST_F(KekFileTest, LoadOrCreateMakesAnOwnerOnlyKeyOnceAndReadsItAfterwards) {
  const std::string path = folder_.Child("data/kek");
  bool created = false;

  absl::StatusOr<std::string> first = LoadOrCreateKekFile(path, &created);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(created);
  EXPECT_EQ(first->size(), 32u);
  EXPECT_EQ(FileMode(path), 0600);
  EXPECT_EQ(FileMode(folder_.Child("data")), 0700);
  EXPECT_TRUE(testing::ReadWholeFile(path) == *first);

  absl::StatusOr<std::string> second = LoadOrCreateKekFile(path, &created);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(created);
  EXPECT_TRUE(*second == *first);
  EXPECT_TRUE(Envelope::Create(*second).ok());
}

TEST_F(KekFileTest, LoadOrCreateReadsAnOperatorsHexKeyAndNeverReplacesIt) {
  const std::string path = folder_.Child("kek");
  WriteFileWithMode(path, absl::BytesToHexString(Kek()) + "\n", 0600);
  bool created = true;

  absl::StatusOr<std::string> kek = LoadOrCreateKekFile(path, &created);

  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_FALSE(created);
  EXPECT_TRUE(*kek == Kek());
}

TEST_F(KekFileTest, LoadOrCreateRefusesAnExistingFileOthersCanRead) {
  const std::string path = folder_.Child("kek");
  WriteFileWithMode(path, Kek(), 0644);

  EXPECT_EQ(LoadOrCreateKekFile(path, nullptr).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(testing::ReadWholeFile(path) == Kek());
}

TEST_F(KekFileTest, LoadOrCreateLeavesOnlyTheKeyFileBehind) {
  const std::string path = folder_.Child("data/kek");
  ASSERT_TRUE(LoadOrCreateKekFile(path, nullptr).ok());
  std::vector<std::string> names;
  DIR* dir = opendir(folder_.Child("data").c_str());
  ASSERT_NE(dir, nullptr);
  while (dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  EXPECT_EQ(names, std::vector<std::string>{"kek"});
}

TEST_F(KekFileTest, LoadOrCreateIgnoresATemporaryFileLeftByACrash) {
  const std::string path = folder_.Child("kek");
  // What a crash between writing and linking leaves: a temporary file, and no KEK file.
  WriteFileWithMode(path + ".tmp-0011223344556677", std::string(7, 'x'), 0600);
  bool created = false;
  absl::StatusOr<std::string> kek = LoadOrCreateKekFile(path, &created);
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_TRUE(created);
  EXPECT_TRUE(testing::ReadWholeFile(path) == *kek);
}

TEST_F(KekFileTest, ProcessesCreatingAtOnceAllGetTheSameKey) {
  const std::string path = folder_.Child("kek");
  std::vector<std::string> keks(8);
  std::vector<std::thread> threads;
  for (std::string& out : keks) {
    threads.emplace_back([&path, &out] {
      absl::StatusOr<std::string> kek = LoadOrCreateKekFile(path, nullptr);
      if (kek.ok()) out = *kek;
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& k : keks) {
    ASSERT_EQ(k.size(), 32u);
    EXPECT_TRUE(k == testing::ReadWholeFile(path));
  }
}

TEST_F(KekFileTest, TwoNewKeksDiffer) {
  absl::StatusOr<std::string> a = LoadOrCreateKekFile(folder_.Child("a"), nullptr);
  absl::StatusOr<std::string> b = LoadOrCreateKekFile(folder_.Child("b"), nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(*a == *b);
}

}  // namespace
}  // namespace signet::server
