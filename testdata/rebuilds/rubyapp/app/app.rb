# frozen_string_literal: true

# A tiny service: prints a line per request read from stdin, or one line with
# --selftest.
require "bundler/setup"
require "fastsum"

def answer(line)
  values = line.split.map(&:to_i)
  "#{Fastsum::GREETING}: #{Fastsum.describe(values)}"
end

if ARGV.include?("--selftest")
  puts answer("1 2 3 40")
else
  $stdin.each_line { |line| puts answer(line) }
end
