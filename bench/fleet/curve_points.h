// The points of a scale curve, appended to a file as JSON lines (one object per series, x and
// metric) for the plot script:
//   {"curve":"watchers","series":"...","x":1000,"x_label":"watchers","metric":"p99_ms","value":4.2}
//
// Example:
//   CurvePoints points(json_out_path, "watchers");   // an empty path writes nothing
//   points.Add("signet-server, SQLite", 1000, "WatchKeys streams", "p99_ms", 4.2);
#ifndef SIGNET_BENCH_FLEET_CURVE_POINTS_H_
#define SIGNET_BENCH_FLEET_CURVE_POINTS_H_

#include <string>

namespace signet::bench {

class CurvePoints {
 public:
  CurvePoints(std::string path, std::string curve);

  // Appends one line; false (said on stderr) if the file cannot be written.
  bool Add(const std::string& series, double x, const std::string& x_label,
           const std::string& metric, double value) const;

 private:
  const std::string path_;
  const std::string curve_;
};

}  // namespace signet::bench

#endif  // SIGNET_BENCH_FLEET_CURVE_POINTS_H_
