#include "bench/fleet/curve_points.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <utility>

#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace signet::bench {

CurvePoints::CurvePoints(std::string path, std::string curve)
    : path_(std::move(path)), curve_(std::move(curve)) {}

bool CurvePoints::Add(const std::string& series, double x, const std::string& x_label,
                      const std::string& metric, double value) const {
  if (path_.empty()) return true;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("curve");
  w.String(curve_.c_str(), static_cast<rapidjson::SizeType>(curve_.size()));
  w.Key("series");
  w.String(series.c_str(), static_cast<rapidjson::SizeType>(series.size()));
  w.Key("x");
  w.Double(x);
  w.Key("x_label");
  w.String(x_label.c_str(), static_cast<rapidjson::SizeType>(x_label.size()));
  w.Key("metric");
  w.String(metric.c_str(), static_cast<rapidjson::SizeType>(metric.size()));
  w.Key("value");
  if (std::isfinite(value)) {
    w.Double(value);
  } else {
    w.Null();  // JSON has no NaN or infinity.
  }
  w.EndObject();
  std::ofstream out(path_, std::ios::app);
  out << buffer.GetString() << '\n';
  if (!out) {
    std::fprintf(stderr, "cannot append to %s\n", path_.c_str());
    return false;
  }
  return true;
}

}  // namespace signet::bench
