// The configuration file reader: nginx's ngx_conf_read_token state machine and its error texts,
// building a tree instead of calling handlers, with `include` resolved here so that the host and
// the modules only ever see directives.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"

namespace glide::conf {

namespace {

// A configuration is written by hand; anything this large is a mistake (a log file named by a
// wrong glob) and would otherwise be read whole into memory.
constexpr size_t MAX_FILE_SIZE = size_t{16} << 20;
// Stops `include` loops (a file including itself, two files including each other).
constexpr unsigned MAX_INCLUDE_DEPTH = 16;
// The parser recurses per block; this keeps hostile input from exhausting the stack.
constexpr unsigned MAX_BLOCK_DEPTH = 64;

Error sys_error(const char *call, const std::string &path, int err) {
    return make_error(std::string(call) + "() \"" + path + "\" failed (" + std::to_string(err) +
                      ": " + std::strerror(err) + ")");
}

Error located(std::string msg, const std::string &file, unsigned line) {
    msg += " in ";
    msg += file;
    msg += ':';
    msg += std::to_string(line);
    return make_error(std::move(msg));
}

struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0)
            close(fd);
    }
};

Status read_file(const std::string &path, std::string &text) {
    FdCloser f{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0)
        return sys_error("open", path, errno);
    struct stat st;
    if (fstat(f.fd, &st) < 0)
        return sys_error("fstat", path, errno);
    auto too_large = [&path] {
        return make_error("configuration file \"" + path + "\" is larger than 16m");
    };
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > MAX_FILE_SIZE)
        return too_large();
    text.clear();
    char buf[65536];
    for (;;) {
        ssize_t n = read(f.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return sys_error("read", path, errno);
        }
        if (n == 0)
            return {};
        // Checked while reading too: pipes and /proc files have no size.
        if (text.size() + static_cast<size_t>(n) > MAX_FILE_SIZE)
            return too_large();
        text.append(buf, static_cast<size_t>(n));
    }
}

// nginx's unescaping (ngx_conf_read_token): \" \' \\ \t \r \n; any other backslash stays.
std::string unescape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); i++) {
        char c = raw[i];
        if (c == '\\' && i + 1 < raw.size()) {
            switch (raw[i + 1]) {
            case '"':
            case '\'':
            case '\\':
                c = raw[++i];
                break;
            case 't':
                c = '\t';
                i++;
                break;
            case 'r':
                c = '\r';
                i++;
                break;
            case 'n':
                c = '\n';
                i++;
                break;
            }
        }
        out += c;
    }
    return out;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct Source {
    std::string_view text;
    const std::string &file;
    size_t pos = 0;
    unsigned line = 1; // of the next character, as nginx counts: 1 + newlines read
};

enum class Token { Done, BlockStart, BlockDone, FileDone, Failed };

// Reads one directive's words up to and including its ';' or '{', or one '}', or the end.
// `line` is set to the line of the first word.
Token read_words(Source &src, std::vector<std::string> &words, unsigned &line, Status &err) {
    bool last_space = true, need_space = false, comment = false, escaped = false;
    bool d_quoted = false, s_quoted = false;
    size_t start = 0;
    auto fail = [&](std::string msg) {
        err = located(std::move(msg), src.file, src.line);
        return Token::Failed;
    };
    auto unexpected = [&](char c) { return fail(std::string("unexpected \"") + c + '"'); };
    words.clear();

    for (;;) {
        if (src.pos == src.text.size()) {
            if (!words.empty() || !last_space)
                return fail("unexpected end of file, expecting \";\" or \"}\"");
            return Token::FileDone;
        }
        char ch = src.text[src.pos++];
        if (ch == '\n') {
            src.line++;
            comment = false;
        }
        if (comment)
            continue;
        if (escaped) {
            escaped = false;
            continue;
        }
        if (need_space) {
            // A quoted word must be followed by a separator: "a"b is an error, as in nginx.
            if (is_space(ch)) {
                last_space = true;
                need_space = false;
                continue;
            }
            if (ch == ';')
                return Token::Done;
            if (ch == '{')
                return Token::BlockStart;
            return unexpected(ch);
        }
        if (last_space) {
            if (is_space(ch))
                continue;
            start = src.pos - 1;
            if (words.empty())
                line = src.line;
            switch (ch) {
            case ';':
            case '{':
                if (words.empty())
                    return unexpected(ch);
                return ch == '{' ? Token::BlockStart : Token::Done;
            case '}':
                if (!words.empty())
                    return unexpected(ch);
                return Token::BlockDone;
            case '#':
                comment = true;
                continue;
            case '\\':
                escaped = true;
                break;
            case '"':
                start++;
                d_quoted = true;
                break;
            case '\'':
                start++;
                s_quoted = true;
                break;
            }
            last_space = false;
            continue;
        }
        if (ch == '\\') {
            escaped = true;
            continue;
        }
        bool end = false;
        if (d_quoted || s_quoted) {
            if (ch == (d_quoted ? '"' : '\'')) {
                d_quoted = s_quoted = false;
                need_space = true;
                end = true;
            }
        } else if (is_space(ch) || ch == ';' || ch == '{') {
            // As in nginx, '}' and '#' inside a word are part of it: "a}" is one word.
            last_space = true;
            end = true;
        }
        if (!end)
            continue;
        words.push_back(unescape(src.text.substr(start, src.pos - 1 - start)));
        if (ch == ';')
            return Token::Done;
        if (ch == '{')
            return Token::BlockStart;
    }
}

class Parser {
public:
    // Parses the text of one file (the top one or an included one) into out.
    Status parse(std::string_view text, const std::string &file, Tree &out) {
        if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
            unsigned line = 1;
            for (size_t i = 0; i < nul; i++)
                line += text[i] == '\n';
            return located("unexpected NUL byte", file, line);
        }
        Source src{text, file};
        return parse_items(src, out, false);
    }

private:
    Status parse_items(Source &src, Tree &out, bool in_block);
    Status include(const Source &src, const std::string &pattern, unsigned line, Tree &out);
    Status include_file(const Source &src, const std::string &path, unsigned line, Tree &out);

    unsigned includes_ = 0;
    unsigned blocks_ = 0;
};

Status Parser::parse_items(Source &src, Tree &out, bool in_block) {
    std::vector<std::string> words;
    for (;;) {
        unsigned line = src.line;
        Status err;
        Token t = read_words(src, words, line, err);
        switch (t) {
        case Token::Failed:
            return err;
        case Token::FileDone:
            if (in_block)
                return located("unexpected end of file, expecting \"}\"", src.file, src.line);
            return {};
        case Token::BlockDone:
            if (!in_block)
                return located("unexpected \"}\"", src.file, src.line);
            return {};
        case Token::Done:
        case Token::BlockStart:
            break;
        }
        if (words[0] == "include") {
            if (t == Token::BlockStart)
                return located("unexpected \"{\"", src.file, src.line);
            if (words.size() != 2)
                return located("invalid number of arguments in \"include\" directive", src.file,
                               line);
            if (Status st = include(src, words[1], line, out); !st)
                return st;
            continue;
        }
        Directive d;
        d.name = std::move(words[0]);
        d.args.assign(std::make_move_iterator(words.begin() + 1),
                      std::make_move_iterator(words.end()));
        d.file = src.file;
        d.line = line;
        d.has_block = t == Token::BlockStart;
        if (d.has_block) {
            if (blocks_ == MAX_BLOCK_DEPTH)
                return located("blocks nested deeper than " + std::to_string(MAX_BLOCK_DEPTH),
                               src.file, src.line);
            blocks_++;
            Status st = parse_items(src, d.block, true);
            blocks_--;
            if (!st)
                return st;
        }
        out.push_back(std::move(d));
    }
}

thread_local int glob_errno;

// GLOB_ERR's rule (stop at a directory that cannot be read) except for a directory that does
// not exist: "include conf.d/*.conf;" without conf.d matches nothing, and with "*/x/*.conf" one
// directory lacking x must not hide the others' matches.
int on_glob_error(const char *, int err) {
    if (err == ENOENT || err == ENOTDIR)
        return 0;
    glob_errno = err;
    return 1;
}

Status Parser::include(const Source &src, const std::string &pattern, unsigned line, Tree &out) {
    std::string path = pattern;
    if (pattern.empty() || pattern[0] != '/') {
        size_t slash = src.file.rfind('/');
        if (slash != std::string::npos)
            path = src.file.substr(0, slash + 1) + pattern;
    }
    if (path.find_first_of("*?[") == std::string::npos)
        return include_file(src, path, line, out);

    // A pattern that matches nothing is fine (nginx): "include conf.d/*.conf;" with an empty
    // conf.d. Matches come sorted, so the order of directives is reproducible.
    glob_t g{};
    glob_errno = 0;
    int rc = glob(path.c_str(), 0, on_glob_error, &g);
    std::vector<std::string> files;
    if (rc == 0)
        files.assign(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    globfree(&g);
    if (rc == GLOB_NOSPACE)
        return located("glob() \"" + path + "\" failed (out of memory)", src.file, line);
    if (rc != 0 && rc != GLOB_NOMATCH)
        return located(glob_errno ? sys_error("glob", path, glob_errno).message
                                  : "glob() \"" + path + "\" failed",
                       src.file, line);
    for (const std::string &file : files)
        if (Status st = include_file(src, file, line, out); !st)
            return st;
    return {};
}

Status Parser::include_file(const Source &src, const std::string &path, unsigned line, Tree &out) {
    if (includes_ == MAX_INCLUDE_DEPTH)
        return located("include depth exceeds " + std::to_string(MAX_INCLUDE_DEPTH), src.file,
                       line);
    std::string text;
    if (Status st = read_file(path, text); !st)
        return located(st.error(), src.file, line);
    includes_++;
    Status st = parse(text, path, out);
    includes_--;
    return st;
}

} // namespace

Result<Tree> parse_file(const std::string &path) {
    std::string text;
    if (Status st = read_file(path, text); !st)
        return make_error(st.error());
    return parse_string(text, path);
}

Result<Tree> parse_string(std::string_view text, const std::string &name) {
    Tree tree;
    Parser parser;
    if (Status st = parser.parse(text, name, tree); !st)
        return make_error(st.error());
    return tree;
}

} // namespace glide::conf
