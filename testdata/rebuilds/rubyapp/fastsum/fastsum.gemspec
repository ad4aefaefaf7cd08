Gem::Specification.new do |s|
  s.name        = "fastsum"
  s.version     = "0.1.0"
  s.summary     = "Sums and checksums in C"
  s.description = "A small gem with a native C extension, for scripts/real-rebuilds.sh."
  s.authors     = ["imgver"]
  s.license     = "MIT"
  s.files       = ["lib/fastsum.rb", "ext/fastsum/extconf.rb", "ext/fastsum/fastsum.c"]
  s.extensions  = ["ext/fastsum/extconf.rb"]
  s.require_paths = ["lib"]
  s.required_ruby_version = ">= 2.7"
end
