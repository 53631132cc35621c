#include "signet/base64url.h"

#include <string>

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

}  // namespace
}  // namespace signet
