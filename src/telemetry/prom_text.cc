#include "telemetry/prom_text.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

namespace interlock::telemetry {
namespace {

// A sample's value as a count: NaN and negatives are 0, values past 2^64 saturate (a cast
// of such a double to an integer is undefined behaviour; found by fuzz/prom_text).
uint64_t AsCount(double v) {
  if (!(v > 0)) return 0;
  if (v >= 18446744073709551616.0) return UINT64_MAX;
  return static_cast<uint64_t>(v);
}

struct Sample {
  std::string name;
  Attributes labels;
  std::string le;  // the le label of a _bucket sample, kept out of `labels`
  double value = 0;
};

// name{k="v",...} value   (label values escaped \\ \" \n, as Prometheus writes them)
bool ParseSample(std::string_view line, Sample* s) {
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  s->name = std::string(line.substr(0, i));
  if (s->name.empty()) return false;
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
        return false;
      }
      std::string key(line.substr(i, eq - i));
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value.push_back(line[j] == 'n' ? '\n' : line[j]);
        } else {
          value.push_back(line[j]);
        }
      }
      if (j >= line.size()) return false;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
      if (key == "le") {
        s->le = std::move(value);
      } else {
        s->labels.emplace_back(std::move(key), std::move(value));
      }
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  while (i < line.size() && line[i] == ' ') ++i;
  std::string v(line.substr(i));
  const size_t space = v.find(' ');  // an optional timestamp follows
  if (space != std::string::npos) v.resize(space);
  if (v.empty()) return false;
  char* end = nullptr;
  s->value = std::strtod(v.c_str(), &end);
  return end == v.c_str() + v.size();
}

std::string LabelKey(const Attributes& a) {
  std::string k;
  for (const auto& [name, value] : a) {
    k.append(name).push_back('\x1f');
    k.append(std::get<std::string>(value)).push_back('\x1e');
  }
  return k;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::vector<MetricData> ParsePrometheusText(std::string_view text) {
  std::vector<MetricData> out;
  std::map<std::string, size_t> index;  // family name -> out[]
  // Histogram points being assembled, per family and label set.
  std::map<std::pair<size_t, std::string>, size_t> hist_points;
  std::map<std::pair<size_t, std::string>, uint64_t> last_cumulative;
  std::map<std::string, std::string> help;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) {
      std::string_view rest = line.substr(7);
      const size_t sp = rest.find(' ');
      if (sp != std::string_view::npos) {
        help[std::string(rest.substr(0, sp))] = std::string(rest.substr(sp + 1));
      }
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string_view rest = line.substr(7);
      const size_t sp = rest.find(' ');
      if (sp == std::string_view::npos) continue;
      std::string name(rest.substr(0, sp));
      std::string_view type = rest.substr(sp + 1);
      MetricData m;
      m.name = name;
      if (type == "counter") {
        m.kind = MetricData::Kind::kSum;
        m.monotonic = true;
      } else if (type == "gauge") {
        m.kind = MetricData::Kind::kGauge;
      } else if (type == "histogram") {
        m.kind = MetricData::Kind::kHistogram;
        if (EndsWith(name, "_seconds")) m.unit.assign(1, 's');
      } else {
        continue;
      }
      if (auto h = help.find(name); h != help.end()) m.description = h->second;
      if (index.count(name) == 0) {
        index[name] = out.size();
        out.push_back(std::move(m));
      }
      continue;
    }
    if (line[0] == '#') continue;
    Sample s;
    if (!ParseSample(line, &s)) continue;
    if (auto it = index.find(s.name); it != index.end()) {
      MetricData& m = out[it->second];
      if (m.kind == MetricData::Kind::kHistogram) continue;
      NumberPoint p;
      p.attributes = std::move(s.labels);
      p.value = s.value;
      p.is_int = m.kind == MetricData::Kind::kSum && s.value == std::floor(s.value) &&
                 std::fabs(s.value) < 9e15;
      m.points.push_back(std::move(p));
      continue;
    }
    // A histogram's series: <family>_bucket / _sum / _count.
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (!EndsWith(s.name, suffix)) continue;
      auto it = index.find(s.name.substr(0, s.name.size() - suffix.size()));
      if (it == index.end() || out[it->second].kind != MetricData::Kind::kHistogram) break;
      MetricData& m = out[it->second];
      const auto key = std::make_pair(it->second, LabelKey(s.labels));
      auto [pit, fresh] = hist_points.emplace(key, m.histogram_points.size());
      if (fresh) {
        m.histogram_points.emplace_back();
        m.histogram_points.back().attributes = s.labels;
      }
      HistogramPoint& h = m.histogram_points[pit->second];
      if (suffix == "_sum") {
        h.sum = s.value;
      } else if (suffix == "_count") {
        h.count = AsCount(s.value);
      } else {
        // Prometheus buckets are cumulative; OTLP's are per bucket.
        const uint64_t cumulative = AsCount(s.value);
        uint64_t& last = last_cumulative[key];
        h.bucket_counts.push_back(cumulative >= last ? cumulative - last : 0);
        last = cumulative;
        if (s.le != "+Inf") h.bounds.push_back(std::strtod(s.le.c_str(), nullptr));
      }
      break;
    }
  }
  // A histogram must have bounds.size() + 1 buckets; drop points that do not.
  for (MetricData& m : out) {
    std::erase_if(m.histogram_points, [](const HistogramPoint& h) {
      return h.bucket_counts.size() != h.bounds.size() + 1;
    });
  }
  return out;
}

}  // namespace interlock::telemetry
