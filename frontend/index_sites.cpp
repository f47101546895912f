#include "frontend/index_sites.h"

#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "kiln/error.h"

namespace kiln::detail {
namespace {

struct Site {
    std::string op, noun, what, where;
};

struct Sites {
    std::mutex mutex;
    std::vector<Site> sites{Site{"index", "index", "", ""}};  // 0: unknown
    std::map<std::tuple<std::string, std::string, std::string, std::string>, int64_t> ids;
};

Sites& sites() {
    static Sites* s = new Sites();  // leaked: programs may report errors during exit
    return *s;
}

}  // namespace

int64_t index_site(const std::string& op, const std::string& noun, const std::string& what,
                   const std::source_location& loc) {
    Sites& s = sites();
    std::string where = format_location(loc);
    std::lock_guard lock(s.mutex);
    auto [it, inserted] =
        s.ids.emplace(std::make_tuple(op, noun, what, where), static_cast<int64_t>(s.sites.size()));
    if (inserted) s.sites.push_back(Site{op, noun, what, where});
    return it->second;
}

std::string index_error_message(int64_t site, int64_t value, int64_t bound) {
    Sites& s = sites();
    Site info;
    {
        std::lock_guard lock(s.mutex);
        info = site >= 0 && site < static_cast<int64_t>(s.sites.size()) ? s.sites[site]
                                                                         : s.sites[0];
    }
    std::string msg = info.op + ": " + info.noun + " " + std::to_string(value) +
                      " is out of range [0, " + std::to_string(bound) + ")";
    if (!info.what.empty()) msg += " (" + info.what + ")";
    if (!info.where.empty()) msg += " at " + info.where;
    return msg;
}

}  // namespace kiln::detail
