// Atomic replacement of a file: temporary file + fsync + rename (+ fsync of the directory, so
// the rename itself survives a crash). POSIX only, like the rest of Kiln's runtime.
#include "frontend/serialize/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "kiln/error.h"

namespace kiln::detail {

void write_file_atomically(const std::string& path, const std::vector<std::string_view>& parts,
                           const std::string& op) {
    auto fail = [&](const std::string& reason) -> void {
        throw Error(op + ": cannot write '" + path + "': " + reason);
    };
    std::filesystem::path target(path);
    std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
    std::string temp_name = ".";  // built by appends: GCC 12 warns falsely on a + b + c here
    temp_name += target.filename().string();
    temp_name += ".tmp-XXXXXX";
    std::string pattern = (dir / temp_name).string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0) fail(std::strerror(errno));
    std::string tmp(name.data());
    auto abandon = [&](const std::string& reason) {
        ::close(fd);
        ::unlink(tmp.c_str());
        fail(reason);
    };
    for (std::string_view part : parts) {
        const char* p = part.data();
        size_t left = part.size();
        while (left > 0) {
            ssize_t n = ::write(fd, p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) abandon(n < 0 ? std::strerror(errno) : "short write");
            p += n;
            left -= static_cast<size_t>(n);
        }
    }
    if (::fsync(fd) != 0) abandon(std::strerror(errno));
    // mkstemp creates the file 0600; give it a data file's usual 0644 (reading the umask to
    // apply it would briefly change it for every thread of the process).
    ::fchmod(fd, 0644);
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        fail(std::strerror(errno));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        fail(std::strerror(err));
    }
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        ::fsync(dfd);  // best effort: the data is in place either way
        ::close(dfd);
    }
}

}  // namespace kiln::detail
