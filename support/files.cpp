#include "support/files.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace kiln::support {
namespace {

std::atomic<uint64_t> g_next_temp{0};

}  // namespace

int write_new_file(const char* path, std::string_view text) noexcept {
    int fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    size_t done = 0;
    while (done < text.size()) {
        ssize_t w = ::write(fd, text.data() + done, text.size() - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            ::unlink(path);
            return e;
        }
        done += static_cast<size_t>(w);
    }
    if (::close(fd) != 0) {
        int e = errno;
        ::unlink(path);
        return e;
    }
    return 0;
}

std::string write_file_atomically(const std::filesystem::path& path,
                                  std::string_view text) noexcept {
    try {
        // A dot name in the target's directory: rename() is atomic only within one file system.
        std::filesystem::path temp = path;
        temp.replace_filename(fmt::format(".{}.tmp.{}.{}", path.filename().string(), ::getpid(),
                                          g_next_temp.fetch_add(1)));
        int e = write_new_file(temp.c_str(), text);
        if (e == 0 && ::rename(temp.c_str(), path.c_str()) != 0) {
            e = errno;
            ::unlink(temp.c_str());
        }
        return e == 0 ? std::string() : std::string(std::strerror(e));
    } catch (...) {
        return "out of memory";  // short enough not to allocate
    }
}

}  // namespace kiln::support
