// The configuration parser: every syntax feature and every error text, with includes resolved
// against files written into a fresh temporary directory.
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf/conf.h"
// Last: cmocka defines macros (fail, skip) that clash with the standard library.
#include "glide_cmocka.h"

using namespace glide::conf;

namespace {

std::string tmp; // the test directory, made by setup()

int setup(void **) {
    char templ[] = "/tmp/glide-conf-XXXXXX";
    if (!mkdtemp(templ))
        return -1;
    tmp = templ;
    return 0;
}

int teardown(void **) {
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
    return 0;
}

// Writes a file under the test directory and returns its path.
std::string write(const std::string &name, std::string_view text) {
    std::string path = tmp + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!f)
        fail_msg("cannot write %s", path.c_str());
    return path;
}

Tree parse_ok(std::string_view text, const std::string &name = "t.conf") {
    auto r = parse_string(text, name);
    if (!r)
        fail_msg("unexpected error: %s", r.error().c_str());
    return std::move(r.value());
}

Tree parse_file_ok(const std::string &path) {
    auto r = parse_file(path);
    if (!r)
        fail_msg("unexpected error: %s", r.error().c_str());
    return std::move(r.value());
}

void expect_error(std::string_view text, const std::string &want,
                  const std::string &name = "t.conf") {
    auto r = parse_string(text, name);
    if (r)
        fail_msg("accepted: %.*s", (int)text.size(), text.data());
    assert_string_equal(r.error().c_str(), want.c_str());
}

void expect_file_error(const std::string &path, const std::string &want) {
    auto r = parse_file(path);
    if (r)
        fail_msg("accepted: %s", path.c_str());
    assert_string_equal(r.error().c_str(), want.c_str());
}

void expect_args(const Directive &d, std::initializer_list<const char *> args) {
    assert_int_equal(d.args.size(), args.size());
    size_t i = 0;
    for (const char *a : args)
        assert_string_equal(d.args[i++].c_str(), a);
}

// --- syntax -----------------------------------------------------------------------------------

void test_directives(void **) {
    Tree t = parse_ok("daemon on;\npid /run/glided.pid;\n\nglide_listen 0.0.0.0:8080 ws json;\n"
                      "store memory;");
    assert_int_equal(t.size(), 4);
    assert_string_equal(t[0].name.c_str(), "daemon");
    expect_args(t[0], {"on"});
    assert_int_equal(t[0].line, 1);
    assert_string_equal(t[0].file.c_str(), "t.conf");
    assert_false(t[0].has_block);
    assert_true(t[0].block.empty());
    assert_int_equal(t[1].line, 2);
    expect_args(t[2], {"0.0.0.0:8080", "ws", "json"});
    assert_int_equal(t[2].line, 4);
    assert_string_equal(t[3].name.c_str(), "store");
    assert_int_equal(t[3].line, 5);
}

void test_no_arguments_and_spacing(void **) {
    Tree t = parse_ok("a;b ;  c\t;d\n;e;");
    assert_int_equal(t.size(), 5);
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(t[i].name.c_str(), names[i]);
        assert_true(t[i].args.empty());
    }
    assert_int_equal(t[3].line, 1);
    assert_int_equal(t[4].line, 2);
}

void test_empty_inputs(void **) {
    assert_true(parse_ok("").empty());
    assert_true(parse_ok("   \n\t\r\n").empty());
    assert_true(parse_ok("# only a comment").empty());
    assert_true(parse_ok("# one\n  # two\n#three;{}\n").empty());
}

void test_line_is_of_the_name(void **) {
    Tree t = parse_ok("\n\n  a\n  b\n  c;\nd\n{\n}\n");
    assert_int_equal(t.size(), 2);
    assert_int_equal(t[0].line, 3);
    expect_args(t[0], {"b", "c"});
    assert_int_equal(t[1].line, 6);
    assert_true(t[1].has_block);
}

void test_blocks(void **) {
    Tree t = parse_ok("outer x {\n  inner 1;\n  nested {\n    deep a b;\n  }\n  empty {}\n}\n"
                      "after;\n");
    assert_int_equal(t.size(), 2);
    const Directive &o = t[0];
    assert_string_equal(o.name.c_str(), "outer");
    expect_args(o, {"x"});
    assert_true(o.has_block);
    assert_int_equal(o.block.size(), 3);
    assert_string_equal(o.block[0].name.c_str(), "inner");
    assert_int_equal(o.block[0].line, 2);
    assert_false(o.block[0].has_block);
    const Directive &n = o.block[1];
    assert_true(n.has_block);
    assert_int_equal(n.line, 3);
    assert_int_equal(n.block.size(), 1);
    expect_args(n.block[0], {"a", "b"});
    assert_int_equal(n.block[0].line, 4);
    assert_true(o.block[2].has_block);
    assert_true(o.block[2].block.empty());
    assert_string_equal(t[1].name.c_str(), "after");
    assert_int_equal(t[1].line, 8);
}

void test_block_without_spaces(void **) {
    Tree t = parse_ok("a{b;}c{}");
    assert_int_equal(t.size(), 2);
    assert_true(t[0].has_block);
    assert_true(t[0].args.empty());
    assert_int_equal(t[0].block.size(), 1);
    assert_true(t[1].has_block);
}

void test_comments(void **) {
    Tree t = parse_ok("a 1; # trailing ; { } \"\n# full line\nb 2 # inside the directive\n 3;\n"
                      "c x#y \"#z\";\n");
    assert_int_equal(t.size(), 3);
    expect_args(t[0], {"1"});
    expect_args(t[1], {"2", "3"});
    assert_int_equal(t[1].line, 3);
    // As in nginx, '#' starts a comment only at the start of a word.
    expect_args(t[2], {"x#y", "#z"});
}

void test_crlf_and_tabs(void **) {
    Tree t = parse_ok("a\t1\t2;\r\nb {\r\n\tc 'x';\r\n}\r\n# end\r\n");
    assert_int_equal(t.size(), 2);
    expect_args(t[0], {"1", "2"});
    assert_int_equal(t[1].line, 2);
    assert_int_equal(t[1].block[0].line, 3);
    expect_args(t[1].block[0], {"x"});
}

void test_quotes(void **) {
    Tree t = parse_ok("a \"x y\" 'p q' \"\" '' \"it's\" 'say \"hi\"';\n\"quoted name\" 1;");
    assert_int_equal(t.size(), 2);
    expect_args(t[0], {"x y", "p q", "", "", "it's", "say \"hi\""});
    assert_string_equal(t[1].name.c_str(), "quoted name");
}

void test_quote_then_separator(void **) {
    Tree t = parse_ok("a \"b\";c 'd'{e \"f\"\n;}g \"h\"\t;");
    assert_int_equal(t.size(), 3);
    expect_args(t[0], {"b"});
    assert_true(t[1].has_block);
    expect_args(t[1], {"d"});
    expect_args(t[1].block[0], {"f"});
    expect_args(t[2], {"h"});
}

void test_escapes(void **) {
    Tree t = parse_ok("a \"q\\\"q\" 's\\'s' \"b\\\\s\" \"n\\nr\\rt\\t\" \"\\x\" '\\\"';\n"
                      "b un\\\"quoted x\\;y \\\\;\n");
    expect_args(t[0], {"q\"q", "s's", "b\\s", "n\nr\rt\t", "\\x", "\""});
    // Outside quotes the same escapes apply; an escaped ';' does not end the directive and,
    // not being a known escape, keeps its backslash (nginx).
    expect_args(t[1], {"un\"quoted", "x\\;y", "\\"});
}

void test_quote_across_lines(void **) {
    Tree t = parse_ok("a \"one\ntwo\";\nb;");
    expect_args(t[0], {"one\ntwo"});
    assert_int_equal(t[1].line, 3);
}

void test_quote_inside_word_is_literal(void **) {
    Tree t = parse_ok("a x\"y\" z'w;");
    expect_args(t[0], {"x\"y\"", "z'w"});
}

void test_brace_inside_word(void **) {
    // nginx ends a word at white space, ';' and '{' only.
    Tree t = parse_ok("a b};");
    expect_args(t[0], {"b}"});
}

void test_dollar_is_plain(void **) {
    Tree t = parse_ok("a $x \"$y\";");
    expect_args(t[0], {"$x", "$y"});
}

void test_block_depth(void **) {
    std::string text;
    for (int i = 0; i < 64; i++)
        text += "a{";
    text += std::string(64, '}');
    Tree t = parse_ok(text);
    int depth = 0;
    for (const Tree *b = &t; !b->empty(); b = &(*b)[0].block)
        depth++;
    assert_int_equal(depth, 64);

    std::string deeper;
    for (int i = 0; i < 65; i++)
        deeper += "a\n{";
    deeper += std::string(65, '}');
    expect_error(deeper, "blocks nested deeper than 64 in t.conf:66");
}

// --- syntax errors ----------------------------------------------------------------------------

void test_unexpected_characters(void **) {
    expect_error("}", "unexpected \"}\" in t.conf:1");
    expect_error("a;\n}\n", "unexpected \"}\" in t.conf:2");
    expect_error("a { b; }\n}", "unexpected \"}\" in t.conf:2");
    expect_error("a b }", "unexpected \"}\" in t.conf:1");
    expect_error("a {\n b\n}", "unexpected \"}\" in t.conf:3");
    expect_error(";", "unexpected \";\" in t.conf:1");
    expect_error("a;\n\n  ;", "unexpected \";\" in t.conf:3");
    expect_error("a;;", "unexpected \";\" in t.conf:1");
    expect_error("{", "unexpected \"{\" in t.conf:1");
    expect_error("a { { } }", "unexpected \"{\" in t.conf:1");
}

void test_unexpected_after_quote(void **) {
    expect_error("a \"b\"c;", "unexpected \"c\" in t.conf:1");
    expect_error("a 'b'c;", "unexpected \"c\" in t.conf:1");
    expect_error("a\n'b'\"c\";", "unexpected \"\"\" in t.conf:2");
    expect_error("a \"b\"}", "unexpected \"}\" in t.conf:1");
    expect_error("a \"b\"#c\n;", "unexpected \"#\" in t.conf:1");
    expect_error("\"a\"\\b;", "unexpected \"\\\" in t.conf:1");
}

void test_unexpected_eof(void **) {
    const std::string semi = "unexpected end of file, expecting \";\" or \"}\" in t.conf:";
    expect_error("a", semi + "1");
    expect_error("a b", semi + "1");
    // nginx counts the line after the last newline.
    expect_error("a b\n", semi + "2");
    expect_error("a;\nb # comment ;", semi + "2");
    expect_error("a \"b", semi + "1");
    expect_error("a \"b;\n}\n", semi + "3");
    expect_error("a 'b\\'", semi + "1");
    expect_error("a \"b\"", semi + "1");
    expect_error("a \\", semi + "1");
    expect_error("x {\n a", semi + "2");

    const std::string brace = "unexpected end of file, expecting \"}\" in t.conf:";
    expect_error("a {", brace + "1");
    expect_error("a {\n  b;\n", brace + "3");
    expect_error("a {\n  b {\n  }\n# }", brace + "4");
    expect_error("a { b { }", brace + "1");
}

void test_nul_byte(void **) {
    expect_error(std::string_view("a;\nb\0;", 6), "unexpected NUL byte in t.conf:2");
    expect_error(std::string_view("# \0\n", 4), "unexpected NUL byte in t.conf:1");
}

// --- files and includes ----------------------------------------------------------------------

void test_parse_file(void **) {
    std::string path = write("plain.conf", "a 1;\nb {\n  c;\n}\n");
    Tree t = parse_file_ok(path);
    assert_int_equal(t.size(), 2);
    assert_string_equal(t[0].file.c_str(), path.c_str());
    assert_string_equal(t[1].block[0].file.c_str(), path.c_str());
    assert_int_equal(t[1].block[0].line, 3);
}

void test_file_errors(void **) {
    std::string missing = tmp + "/missing.conf";
    expect_file_error(missing, "open() \"" + missing + "\" failed (2: No such file or directory)");
    expect_file_error(tmp, "read() \"" + tmp + "\" failed (21: Is a directory)");
    std::string bad = write("bad.conf", "a;\nb {\n");
    expect_file_error(bad, "unexpected end of file, expecting \"}\" in " + bad + ":3");
}

// Runs check() with the privileges of an ordinary user: root reads files whatever their mode, so
// a root test run drops to "nobody" in a child process. Returns 1 (passed), 0 (failed) or -1
// (privileges could not be dropped).
int as_unprivileged(bool (*check)()) {
    if (geteuid() != 0)
        return check();
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        _exit(check() ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool same_error(const std::string &path, const std::string &want) {
    auto r = parse_file(path);
    if (!r && r.error() == want)
        return true;
    fprintf(stderr, "parse_file(%s): got \"%s\", want \"%s\"\n", path.c_str(),
            r ? "success" : r.error().c_str(), want.c_str());
    return false;
}

std::string perm_main, perm_secret, perm_glob_main;

bool check_permissions() {
    return same_error(perm_secret,
                      "open() \"" + perm_secret + "\" failed (13: Permission denied)") &&
           same_error(perm_main, "open() \"" + perm_secret +
                                     "\" failed (13: Permission denied) in " + perm_main + ":2") &&
           same_error(perm_glob_main, "glob() \"" + tmp + "/perm/locked/*.conf\" failed (13: " +
                                          "Permission denied) in " + perm_glob_main + ":1");
}

void test_file_permission(void **) {
    perm_secret = write("perm/secret.conf", "a;");
    chmod(perm_secret.c_str(), 0);
    perm_main = write("perm/main.conf", "a;\ninclude secret.conf;\n");
    write("perm/locked/x.conf", "x;");
    chmod((tmp + "/perm/locked").c_str(), 0);
    perm_glob_main = write("perm/glob.conf", "include locked/*.conf;");
    chmod(tmp.c_str(), 0755); // mkdtemp's 0700 would stop the unprivileged child at the door
    int rc = as_unprivileged(check_permissions);
    chmod((tmp + "/perm/locked").c_str(), 0755); // lets teardown remove it
    if (rc < 0)
        skip();
    assert_int_equal(rc, 1);
}

void test_file_too_large(void **) {
    // Exactly the limit is fine; one byte more is not.
    std::string text(16 << 20, ' ');
    text.replace(0, 5, "a 1;\n");
    text.back() = '\n';
    std::string big = write("big.conf", text);
    Tree t = parse_file_ok(big);
    assert_int_equal(t.size(), 1);

    text += '\n';
    std::string huge = write("huge.conf", text);
    expect_file_error(huge, "configuration file \"" + huge + "\" is larger than 16m");
    std::string main = write("huge-main.conf", "include huge.conf;");
    expect_file_error(main,
                      "configuration file \"" + huge + "\" is larger than 16m in " + main + ":1");
}

void test_include(void **) {
    write("inc/sub.conf", "s1 x;\n\ns2 {\n  s3;\n}\n");
    std::string main = write("inc/main.conf", "a;\ninclude sub.conf;\nb;\n");
    Tree t = parse_file_ok(main);
    assert_int_equal(t.size(), 4);
    assert_string_equal(t[0].name.c_str(), "a");
    assert_string_equal(t[1].name.c_str(), "s1");
    assert_string_equal(t[1].file.c_str(), (tmp + "/inc/sub.conf").c_str());
    assert_int_equal(t[1].line, 1);
    assert_string_equal(t[2].name.c_str(), "s2");
    assert_int_equal(t[2].line, 3);
    assert_int_equal(t[2].block.size(), 1);
    assert_string_equal(t[3].name.c_str(), "b");
    assert_string_equal(t[3].file.c_str(), main.c_str());
    assert_int_equal(t[3].line, 3);
}

void test_include_in_block(void **) {
    write("blk/inner.conf", "x 1;\ny 2;\n");
    std::string main = write("blk/main.conf", "outer {\n  include \"inner.conf\";\n  z;\n}\n");
    Tree t = parse_file_ok(main);
    assert_int_equal(t.size(), 1);
    const Tree &b = t[0].block;
    assert_int_equal(b.size(), 3);
    assert_string_equal(b[0].name.c_str(), "x");
    assert_string_equal(b[1].name.c_str(), "y");
    assert_string_equal(b[2].name.c_str(), "z");
}

void test_include_relative_to_includer(void **) {
    // Nested includes resolve against the directory of the file that names them.
    write("rel/a/b/leaf.conf", "leaf;");
    write("rel/a/mid.conf", "include b/leaf.conf;");
    std::string main = write("rel/main.conf", "include a/mid.conf;");
    Tree t = parse_file_ok(main);
    assert_int_equal(t.size(), 1);
    assert_string_equal(t[0].file.c_str(), (tmp + "/rel/a/b/leaf.conf").c_str());
}

void test_include_absolute(void **) {
    std::string abs = write("abs/x.conf", "abs_one;");
    Tree t = parse_ok("include " + abs + ";", "no-directory.conf");
    assert_int_equal(t.size(), 1);
    assert_string_equal(t[0].name.c_str(), "abs_one");
    assert_string_equal(t[0].file.c_str(), abs.c_str());
}

void test_include_from_string(void **) {
    // parse_string resolves includes against dirname(name).
    write("str/part.conf", "part;");
    Tree t = parse_ok("include part.conf;", tmp + "/str/virtual.conf");
    assert_int_equal(t.size(), 1);
    assert_string_equal(t[0].name.c_str(), "part");
}

void test_include_glob(void **) {
    write("glob/conf.d/b.conf", "b;");
    write("glob/conf.d/a.conf", "a1;\na2;");
    write("glob/conf.d/c.txt", "not_included;");
    write("glob/conf.d/empty.conf", "# nothing\n");
    std::string main = write("glob/main.conf", "first;\ninclude conf.d/*.conf;\nlast;");
    Tree t = parse_file_ok(main);
    assert_int_equal(t.size(), 5);
    const char *want[] = {"first", "a1", "a2", "b", "last"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(t[i].name.c_str(), want[i]);
    assert_string_equal(t[1].file.c_str(), (tmp + "/glob/conf.d/a.conf").c_str());
    assert_int_equal(t[2].line, 2);

    std::string q = write("glob/q.conf", "include conf.d/?.conf;\ninclude conf.d/[c-z]*;");
    t = parse_file_ok(q);
    assert_int_equal(t.size(), 4); // a1 a2 b, then c.txt (empty.conf has no directive)
    assert_string_equal(t[3].name.c_str(), "not_included");
}

void test_include_glob_no_match(void **) {
    std::string main = write("nomatch/main.conf", "include none/*.conf;\ninclude *.none;\nz;");
    Tree t = parse_file_ok(main);
    assert_int_equal(t.size(), 1);
    assert_string_equal(t[0].name.c_str(), "z");

    // A directory without the sub-directory does not stop the search in the others.
    write("nomatch/d/a/file", "");
    write("nomatch/d/b/sub/x.conf", "found;");
    t = parse_ok("include d/*/sub/*.conf;", tmp + "/nomatch/virtual.conf");
    assert_int_equal(t.size(), 1);
    assert_string_equal(t[0].name.c_str(), "found");
}

void test_include_glob_error(void **) {
    std::string dir(300, 'd'); // longer than NAME_MAX: glob's opendir fails
    std::string main = write("globerr.conf", "\ninclude " + dir + "/*.conf;");
    expect_file_error(main, "glob() \"" + tmp + "/" + dir +
                                "/*.conf\" failed (36: File name too long) in " + main + ":2");
}

void test_include_errors(void **) {
    std::string main = write("ie/main.conf", "a;\n\ninclude missing.conf;\n");
    expect_file_error(main, "open() \"" + tmp + "/ie/missing.conf\" failed (2: No such file or " +
                                "directory) in " + main + ":3");

    std::filesystem::create_directories(tmp + "/ie/dir.conf");
    main = write("ie/dir-main.conf", "include dir.conf;");
    expect_file_error(main, "read() \"" + tmp + "/ie/dir.conf\" failed (21: Is a directory) in " +
                                main + ":1");

    expect_error("include;", "invalid number of arguments in \"include\" directive in t.conf:1");
    expect_error("\ninclude a\n b;",
                 "invalid number of arguments in \"include\" directive in t.conf:2");
    expect_error("include a {}", "unexpected \"{\" in t.conf:1");
}

void test_error_in_included_file(void **) {
    std::string inc = write("err/inc.conf", "ok;\nbroken \"x\"y;\n");
    std::string main = write("err/main.conf", "a;\ninclude inc.conf;\n");
    expect_file_error(main, "unexpected \"y\" in " + inc + ":2");

    // An included file cannot close the includer's block, nor leave its own open.
    std::string closer = write("err/closer.conf", "x;\n}\n");
    main = write("err/main2.conf", "a {\n  include closer.conf;\n");
    expect_file_error(main, "unexpected \"}\" in " + closer + ":2");
    std::string opener = write("err/opener.conf", "x {\n");
    main = write("err/main3.conf", "a {\n  include opener.conf;\n}\n");
    expect_file_error(main, "unexpected end of file, expecting \"}\" in " + opener + ":2");
    std::string nul = write("err/nul.conf", std::string_view("\n\nx\0;", 5));
    main = write("err/main4.conf", "include nul.conf;");
    expect_file_error(main, "unexpected NUL byte in " + nul + ":3");
}

void test_include_depth(void **) {
    // 16 nested includes are fine.
    for (int i = 0; i < 16; i++)
        write("depth/f" + std::to_string(i) + ".conf",
              "at" + std::to_string(i) + ";\ninclude f" + std::to_string(i + 1) + ".conf;\n");
    write("depth/f16.conf", "bottom;");
    Tree t = parse_file_ok(tmp + "/depth/f0.conf");
    assert_int_equal(t.size(), 17);
    assert_string_equal(t[16].name.c_str(), "bottom");

    // One more is refused at the include that would go deeper.
    write("depth/f16.conf", "bottom;\ninclude f17.conf;");
    write("depth/f17.conf", "too_deep;");
    expect_file_error(tmp + "/depth/f0.conf",
                      "include depth exceeds 16 in " + tmp + "/depth/f16.conf:2");

    std::string self = write("depth/self.conf", "x;\ninclude self.conf;\n");
    expect_file_error(self, "include depth exceeds 16 in " + self + ":2");

    // ping (depth 0) -> pong (1) -> ping (2) ... -> ping (16) -> refused.
    std::string ping = write("depth/ping.conf", "include pong.conf;");
    write("depth/pong.conf", "include ping.conf;");
    expect_file_error(ping, "include depth exceeds 16 in " + ping + ":1");
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_no_arguments_and_spacing),
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_line_is_of_the_name),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_block_without_spaces),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_crlf_and_tabs),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_quote_then_separator),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_quote_across_lines),
        cmocka_unit_test(test_quote_inside_word_is_literal),
        cmocka_unit_test(test_brace_inside_word),
        cmocka_unit_test(test_dollar_is_plain),
        cmocka_unit_test(test_block_depth),
        cmocka_unit_test(test_unexpected_characters),
        cmocka_unit_test(test_unexpected_after_quote),
        cmocka_unit_test(test_unexpected_eof),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_file_permission),
        cmocka_unit_test(test_file_too_large),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_include_in_block),
        cmocka_unit_test(test_include_relative_to_includer),
        cmocka_unit_test(test_include_absolute),
        cmocka_unit_test(test_include_from_string),
        cmocka_unit_test(test_include_glob),
        cmocka_unit_test(test_include_glob_no_match),
        cmocka_unit_test(test_include_glob_error),
        cmocka_unit_test(test_include_errors),
        cmocka_unit_test(test_error_in_included_file),
        cmocka_unit_test(test_include_depth),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
