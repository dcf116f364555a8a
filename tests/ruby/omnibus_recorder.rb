# A recording stand-in for Omnibus's config objects, to evaluate a rendered
# GITLAB_OMNIBUS_CONFIG the way /assets/gitlab.rb does (a plain `eval`) and
# report what it set. Every top-level name (gitlab_rails, registry, ...) is an
# auto-vivifying hash, as Omnibus's ConfigMash is; top-level calls with an
# argument (external_url, runtime_dir, ...) are recorded as calls.
#
#   ruby omnibus_recorder.rb '["ENV_NAME", ...]' < config.rb  →  JSON on stdout
#
# ENV holds exactly the names given, each with a dummy value, so an
# ENV.fetch of anything the task does not provide raises KeyError.
require 'json'

ENV.clear
JSON.parse(ARGV.fetch(0)).each { |name| ENV[name] = "dummy-#{name}" }

SETTINGS = []
CALLS = []

class Recorder
  def initialize(path)
    @path = path
    @values = {}
  end

  def [](key)
    @values[key] ||= Recorder.new(@path + [key])
  end

  def []=(key, value)
    SETTINGS << { 'path' => @path + [key], 'value' => value }
    @values[key] = value
  end
end

ROOTS = Hash.new { |h, name| h[name] = Recorder.new([name]) }

def plain(value)
  case value
  when Hash then value.to_h { |k, v| [k.to_s, plain(v)] }
  when Array then value.map { |v| plain(v) }
  when Symbol then value.to_s
  else value
  end
end

# The evaluation context, as Omnibus's config DSL is one.
class OmnibusDsl
  def method_missing(name, *args)
    return ROOTS[name.to_s] if args.empty?
    CALLS << { 'name' => name.to_s, 'args' => plain(args) }
    nil
  end

  def respond_to_missing?(_name, _include_private = false)
    true
  end
end

OmnibusDsl.new.instance_eval($stdin.read, 'GITLAB_OMNIBUS_CONFIG')

puts JSON.generate(
  'settings' => SETTINGS.map { |s| { 'path' => s['path'], 'value' => plain(s['value']) } },
  'calls' => CALLS
)
