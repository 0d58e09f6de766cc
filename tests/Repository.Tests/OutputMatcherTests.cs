using Workshop.Readme;

namespace Repository.Tests;

/// <summary>How a README's expected output is compared with what a command printed.</summary>
public sealed class OutputMatcherTests
{
    [Theory]
    // Exact, less line endings and trailing blanks.
    [InlineData("{\"id\":1}", "{\"id\":1}\r\n", true)]
    [InlineData("{\"id\":1}", "{\"id\":2}", false)]
    // "..." within a line: any text there.
    [InlineData("{\"requests\":...,\"failures\":0}", "{\"requests\":17,\"failures\":0}", true)]
    [InlineData("{\"requests\":...,\"failures\":0}", "{\"requests\":17,\"failures\":1}", false)]
    // A line of "...": any lines, or none, before, between or after the lines shown.
    [InlineData("...\nusers_created_total 1\n...", "users_created_total 1\nother 2", true)]
    [InlineData("...\nusers_created_total 1\n...", "first 0\nusers_created_total 1", true)]
    [InlineData("...\nusers_created_total 1\n...", "first 0\nusers_created_total 1\nlast 3", true)]
    [InlineData("...\nusers_created_total 1\n...", "users_created_total 1", true)]
    [InlineData("...\nusers_created_total 1\n...", "users_created_total 2", false)]
    [InlineData("...\nusers_created_total 1\n...", "xusers_created_total 1", false)]
    [InlineData("a\n...\nb", "a\nb", true)]
    [InlineData("a\n...\nb", "a\nx\ny\nb", true)]
    [InlineData("a\n...\nb", "a\nx\ny", false)]
    [InlineData("...", "anything\nat all", true)]
    public void Matches(string expected, string actual, bool matches)
    {
        Assert.Equal(matches, OutputMatcher.Matches(expected, actual));
    }
}
