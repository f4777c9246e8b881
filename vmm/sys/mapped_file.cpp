// Implementation of the read-only whole-file mapping.
#include "vmm/sys/mapped_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "vmm/sys/unique_fd.hpp"

namespace minivmm {

Result<MappedFile> MappedFile::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open {}", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat {}", path);
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorCode::invalid_config, "{} is not a regular file", path);
  if (st.st_size == 0) return make_error(ErrorCode::invalid_image, "{} is empty", path);
  MINIVMM_TRY(
      m, Mapping::create(static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0));
  return MappedFile(std::move(m));
}

}  // namespace minivmm
