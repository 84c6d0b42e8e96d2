// Compiled by MSBuild's RoslynCodeTaskFactory (see TorchSharpNativeFix.targets). Kept dependency-free on purpose.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class BatchGuardWeakenGlibcxxRequirement : Task
{
    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";

    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    public override bool Execute()
    {
        try
        {
            Run();
        }
        catch (Exception e)
        {
            Log.LogMessage(MessageImportance.Normal, "BatchGuard: TorchSharp native fix skipped: " + e.Message);
        }
        return true;
    }

    private void Run()
    {
        string hostLib = FindHostLibStdCxx();
        if (hostLib == null)
        {
            Log.LogMessage(MessageImportance.Low, "BatchGuard: no libstdc++.so.6 found on this host; TorchSharp native library left as is.");
            return;
        }
        if (Contains(File.ReadAllBytes(hostLib), Encoding.ASCII.GetBytes(VersionName + "\0")))
        {
            Log.LogMessage(MessageImportance.Low, "BatchGuard: " + hostLib + " provides " + VersionName + "; nothing to patch.");
            return;
        }
        foreach (ITaskItem item in Libraries)
        {
            string path = item.GetMetadata("FullPath");
            try
            {
                int changed = Patch(path);
                if (changed > 0)
                    Log.LogMessage(MessageImportance.Normal, "BatchGuard: marked the " + VersionName + " requirement of " + path + " weak (host " + hostLib + " lacks it).");
            }
            catch (Exception e)
            {
                // Never fail (or warn, which -warnaserror turns into a failure) the user's build over this: if the
                // library then cannot load, the runtime check explains why.
                Log.LogMessage(MessageImportance.Normal, "BatchGuard: left " + path + " as is: " + e.Message);
            }
        }
    }

    private int Patch(string path)
    {
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");

        long shoff = (long)U64(elf, 0x28);
        int shentsize = U16(elf, 0x3A);
        int shnum = U16(elf, 0x3C);
        if (shentsize < 64) throw new InvalidDataException("unexpected section header size " + shentsize);
        byte[] wanted = Encoding.ASCII.GetBytes(VersionName);
        int changed = 0;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (U32(elf, sh + 4) != ShtGnuVerneed) continue;
            long offset = (long)U64(elf, sh + 24);
            uint link = U32(elf, sh + 40);
            uint count = U32(elf, sh + 44);
            if (link >= shnum) throw new InvalidDataException("version section links to a missing string table");
            long strtab = (long)U64(elf, shoff + link * (long)shentsize + 24);

            long need = offset;
            for (uint n = 0; n < count; n++)
            {
                int auxCount = U16(elf, need + 2);
                long aux = need + U32(elf, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    long name = strtab + U32(elf, aux + 8);
                    if (NameEquals(elf, name, wanted))
                    {
                        ushort flags = U16(elf, aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            flags |= VerFlgWeak;
                            elf[aux + 4] = (byte)(flags & 0xff);
                            elf[aux + 5] = (byte)(flags >> 8);
                            changed++;
                        }
                    }
                    uint nextAux = U32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(elf, need + 12);
                if (next == 0) break;
                need += next;
            }
        }
        if (changed > 0)
        {
            // Write a new file and move it over the old one: the output may be a hard link into the NuGet cache.
            string temp = path + ".batchguard-tmp";
            File.WriteAllBytes(temp, elf);
            File.Delete(path);
            File.Move(temp, path);
        }
        return changed;
    }

    // Bounds-checked little-endian reads: a truncated or malformed file is InvalidDataException, never an overrun.
    private static ushort U16(byte[] elf, long at) => BitConverter.ToUInt16(elf, Checked(elf, at, 2));
    private static uint U32(byte[] elf, long at) => BitConverter.ToUInt32(elf, Checked(elf, at, 4));
    private static ulong U64(byte[] elf, long at) => BitConverter.ToUInt64(elf, Checked(elf, at, 8));

    private static int Checked(byte[] elf, long at, int size)
    {
        if (at < 0 || at > elf.Length - size) throw new InvalidDataException("offset " + at + " is outside the file");
        return (int)at;
    }

    private static bool NameEquals(byte[] elf, long at, byte[] name)
    {
        if (at < 0 || at + name.Length >= elf.Length) return false;
        for (int i = 0; i < name.Length; i++)
            if (elf[at + i] != name[i]) return false;
        return elf[at + name.Length] == 0;
    }

    private static string FindHostLibStdCxx()
    {
        var dirs = new System.Collections.Generic.List<string>();
        string ld = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        if (!string.IsNullOrEmpty(ld)) dirs.AddRange(ld.Split(':'));
        dirs.AddRange(new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                              "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" });
        foreach (string dir in dirs)
        {
            if (string.IsNullOrEmpty(dir)) continue;
            string candidate = Path.Combine(dir, "libstdc++.so.6");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static bool Contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }
}
