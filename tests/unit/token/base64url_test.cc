#include "signet/base64url.h"

#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace signet {
namespace {

std::string Decoded(std::string_view encoded) {
  std::string out;
  EXPECT_TRUE(Base64UrlDecode(encoded, &out)) << encoded;
  return out;
}

bool Decodes(std::string_view encoded) {
  std::string out;
  return Base64UrlDecode(encoded, &out);
}

TEST(Base64Url, EncodesTheRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, DecodesTheRfc4648Vectors) {
  EXPECT_EQ(Decoded(""), "");
  EXPECT_EQ(Decoded("Zg"), "f");
  EXPECT_EQ(Decoded("Zm8"), "fo");
  EXPECT_EQ(Decoded("Zm9v"), "foo");
  EXPECT_EQ(Decoded("Zm9vYg"), "foob");
  EXPECT_EQ(Decoded("Zm9vYmE"), "fooba");
  EXPECT_EQ(Decoded("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Decoded("aGk"), "hi");
}

TEST(Base64Url, UsesTheUrlSafeAlphabet) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Decoded("-_8"), "\xfb\xff");
  EXPECT_FALSE(Decodes("+/8"));
}

TEST(Base64Url, RoundTripsEveryByteValueAtEveryLength) {
  std::string data;
  for (int i = 0; i < 256; ++i) {
    data.push_back(static_cast<char>(i));
    EXPECT_EQ(Decoded(Base64UrlEncode(data)), data);
  }
}

TEST(Base64Url, RefusesPadding) {
  EXPECT_FALSE(Decodes("Zg=="));
  EXPECT_FALSE(Decodes("Zm8="));
  EXPECT_FALSE(Decodes("Zm9v===="));
  EXPECT_FALSE(Decodes("="));
}

TEST(Base64Url, RefusesWhitespaceAndOtherCharacters) {
  EXPECT_FALSE(Decodes("Zm 9v"));
  EXPECT_FALSE(Decodes(" Zm9v"));
  EXPECT_FALSE(Decodes("Zm9v\n"));
  EXPECT_FALSE(Decodes("Zm9v\t"));
  EXPECT_FALSE(Decodes("Zm9.v"));
  EXPECT_FALSE(Decodes(std::string_view("Zm\0v", 4)));
  EXPECT_FALSE(Decodes("Zm\xc3\xa9"));
}

TEST(Base64Url, RefusesALengthOfOneModFour) {
  EXPECT_FALSE(Decodes("Z"));
  EXPECT_FALSE(Decodes("Zm9vY"));
}

TEST(Base64Url, RefusesNonZeroUnusedBits) {
  // "f" is "Zg"; "Zh" differs only in the 4 unused bits.
  EXPECT_FALSE(Decodes("Zh"));
  EXPECT_FALSE(Decodes("Zv"));
  // "fo" is "Zm8"; "Zm9" differs only in the 2 unused bits.
  EXPECT_FALSE(Decodes("Zm9"));
  EXPECT_TRUE(Decodes("Zm8"));
}

// The reference for "canonical": Abseil decodes it, and encoding the result gives back the very
// same text (which refuses padding, whitespace and non-zero unused bits).
bool AbslSaysCanonical(const std::string& encoded, std::string* decoded) {
  if (!absl::WebSafeBase64Unescape(encoded, decoded)) return false;
  std::string again;
  absl::WebSafeBase64Escape(*decoded, &again);
  return again == encoded;
}

void ExpectAgreesWithAbsl(const std::string& encoded) {
  std::string expected;
  const bool canonical = AbslSaysCanonical(encoded, &expected);
  std::string out;
  ASSERT_EQ(Base64UrlDecode(encoded, &out), canonical) << absl::CHexEscape(encoded);
  if (canonical) {
    EXPECT_EQ(out, expected) << absl::CHexEscape(encoded);
  }
}

TEST(Base64Url, AgreesWithAbslOnEveryStringOfUpToTwoBytes) {
  ExpectAgreesWithAbsl("");
  for (int a = 0; a < 256; ++a) {
    ExpectAgreesWithAbsl(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) {
      ExpectAgreesWithAbsl(std::string{static_cast<char>(a), static_cast<char>(b)});
    }
  }
}

TEST(Base64Url, AgreesWithAbslOnManyLongerStrings) {
  // Mostly alphabet characters, so that many strings are canonical, with the troublemakers mixed
  // in.
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
      "=+/ .\n"
      "\x80\xff";
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<size_t> length(3, 40);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> rare(0, 19);
  for (int i = 0; i < 200000; ++i) {
    std::string s(length(rng), 'A');
    for (char& c : s) c = alphabet[rare(rng) == 0 ? pick(rng) : pick(rng) % 64];
    ExpectAgreesWithAbsl(s);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace signet
