export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  // Allows to automatically instantiate createClient with right options
  // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)
  __InternalSupabase: {
    PostgrestVersion: "12"
  }
  public: {
    Tables: {
      activities: {
        Row: {
          id: string
          organization_id: string | null
          user_id: string | null
          action: string
          resource_type: string
          resource_id: string | null
          details: NonNullable<Json>
          created_at: string
        }
        Insert: {
          id?: string
          organization_id?: string | null
          user_id?: string | null
          action: string
          resource_type: string
          resource_id?: string | null
          details?: NonNullable<Json>
          created_at?: string
        }
        Update: {
          id?: string
          organization_id?: string | null
          user_id?: string | null
          action?: string
          resource_type?: string
          resource_id?: string | null
          details?: NonNullable<Json>
          created_at?: string
        }
        Relationships: []
      }
      agent_executions: {
        Row: {
          id: string
          agent_id: string
          organization_id: string
          user_id: string
          conversation_id: string | null
          status: string
          input: NonNullable<Json>
          output: Json | null
          model: string | null
          prompt_tokens: number | null
          completion_tokens: number | null
          total_tokens: number | null
          latency_ms: number | null
          error: string | null
          idempotency_key: string | null
          started_at: string | null
          completed_at: string | null
          created_at: string
          updated_at: string
          request_hash: string | null
        }
        Insert: {
          id?: string
          agent_id: string
          organization_id: string
          user_id?: string
          conversation_id?: string | null
          status?: string
          input?: NonNullable<Json>
          output?: Json | null
          model?: string | null
          prompt_tokens?: number | null
          completion_tokens?: number | null
          total_tokens?: never
          latency_ms?: number | null
          error?: string | null
          idempotency_key?: string | null
          started_at?: string | null
          completed_at?: string | null
          created_at?: string
          updated_at?: string
          request_hash?: string | null
        }
        Update: {
          id?: string
          agent_id?: string
          organization_id?: string
          user_id?: string
          conversation_id?: string | null
          status?: string
          input?: NonNullable<Json>
          output?: Json | null
          model?: string | null
          prompt_tokens?: number | null
          completion_tokens?: number | null
          total_tokens?: never
          latency_ms?: number | null
          error?: string | null
          idempotency_key?: string | null
          started_at?: string | null
          completed_at?: string | null
          created_at?: string
          updated_at?: string
          request_hash?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "agent_executions_agent_id_fkey"
            columns: ["agent_id"]
            isOneToOne: false
            referencedRelation: "agents"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "agent_executions_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "agent_executions_conversation_id_fkey"
            columns: ["conversation_id"]
            isOneToOne: false
            referencedRelation: "conversations"
            referencedColumns: ["id"]
          },
        ]
      }
      agents: {
        Row: {
          id: string
          organization_id: string
          owner_id: string | null
          name: string
          description: string
          type: string
          status: string
          system_prompt: string
          model: string
          temperature: number
          max_tokens: number
          summary_threshold: number
          description_embedding: unknown
          metadata: NonNullable<Json>
          created_at: string
          updated_at: string
        }
        Insert: {
          id?: string
          organization_id: string
          owner_id?: string | null
          name: string
          description?: string
          type?: string
          status?: string
          system_prompt?: string
          model?: string
          temperature?: number
          max_tokens?: number
          summary_threshold?: number
          description_embedding?: unknown
          metadata?: NonNullable<Json>
          created_at?: string
          updated_at?: string
        }
        Update: {
          id?: string
          organization_id?: string
          owner_id?: string | null
          name?: string
          description?: string
          type?: string
          status?: string
          system_prompt?: string
          model?: string
          temperature?: number
          max_tokens?: number
          summary_threshold?: number
          description_embedding?: unknown
          metadata?: NonNullable<Json>
          created_at?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "agents_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      analytics_daily_rollups: {
        Row: {
          organization_id: string
          name: string
          bucket: string
          count: number
          error_count: number
          duration_count: number
          duration_sum: number | null
          duration_max: number | null
          p50_ms: number | null
          p95_ms: number | null
          p99_ms: number | null
          tokens: number
          value_sum: number | null
          updated_at: string
        }
        Insert: {
          organization_id: string
          name: string
          bucket: string
          count: number
          error_count: number
          duration_count: number
          duration_sum?: number | null
          duration_max?: number | null
          p50_ms?: number | null
          p95_ms?: number | null
          p99_ms?: number | null
          tokens?: number
          value_sum?: number | null
          updated_at?: string
        }
        Update: {
          organization_id?: string
          name?: string
          bucket?: string
          count?: number
          error_count?: number
          duration_count?: number
          duration_sum?: number | null
          duration_max?: number | null
          p50_ms?: number | null
          p95_ms?: number | null
          p99_ms?: number | null
          tokens?: number
          value_sum?: number | null
          updated_at?: string
        }
        Relationships: []
      }
      analytics_events: {
        Row: {
          id: string
          organization_id: string
          user_id: string | null
          client_id: string | null
          source: string
          name: string
          occurred_at: string
          received_at: string
          properties: NonNullable<Json>
          duration_ms: number | null
          value: number | null
          session_id: string | null
          is_error: boolean
          tokens: number | null
        }
        Insert: {
          id?: string
          organization_id: string
          user_id?: string | null
          client_id?: string | null
          source?: string
          name: string
          occurred_at?: string
          received_at?: string
          properties?: NonNullable<Json>
          duration_ms?: number | null
          value?: number | null
          session_id?: string | null
          is_error?: boolean
          tokens?: number | null
        }
        Update: {
          id?: string
          organization_id?: string
          user_id?: string | null
          client_id?: string | null
          source?: string
          name?: string
          occurred_at?: string
          received_at?: string
          properties?: NonNullable<Json>
          duration_ms?: number | null
          value?: number | null
          session_id?: string | null
          is_error?: boolean
          tokens?: number | null
        }
        Relationships: [
          {
            foreignKeyName: "analytics_events_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      analytics_hourly_rollups: {
        Row: {
          organization_id: string
          name: string
          bucket: string
          count: number
          error_count: number
          duration_count: number
          duration_sum: number | null
          duration_max: number | null
          p50_ms: number | null
          p95_ms: number | null
          p99_ms: number | null
          tokens: number
          value_sum: number | null
          updated_at: string
        }
        Insert: {
          organization_id: string
          name: string
          bucket: string
          count: number
          error_count: number
          duration_count: number
          duration_sum?: number | null
          duration_max?: number | null
          p50_ms?: number | null
          p95_ms?: number | null
          p99_ms?: number | null
          tokens?: number
          value_sum?: number | null
          updated_at?: string
        }
        Update: {
          organization_id?: string
          name?: string
          bucket?: string
          count?: number
          error_count?: number
          duration_count?: number
          duration_sum?: number | null
          duration_max?: number | null
          p50_ms?: number | null
          p95_ms?: number | null
          p99_ms?: number | null
          tokens?: number
          value_sum?: number | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "analytics_hourly_rollups_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      conversations: {
        Row: {
          id: string
          user_id: string
          agent_id: string
          organization_id: string
          title: string | null
          status: string
          summary: string | null
          summarized_until: number
          message_count: number
          last_message_seq: number
          last_message_at: string | null
          metadata: NonNullable<Json>
          created_at: string
          updated_at: string
          summary_embedding: unknown
          summary_model: string | null
          summarized_at: string | null
        }
        Insert: {
          id?: string
          user_id?: string
          agent_id: string
          organization_id: string
          title?: string | null
          status?: string
          summary?: string | null
          summarized_until?: number
          message_count?: number
          last_message_seq?: number
          last_message_at?: string | null
          metadata?: NonNullable<Json>
          created_at?: string
          updated_at?: string
          summary_embedding?: unknown
          summary_model?: string | null
          summarized_at?: string | null
        }
        Update: {
          id?: string
          user_id?: string
          agent_id?: string
          organization_id?: string
          title?: string | null
          status?: string
          summary?: string | null
          summarized_until?: number
          message_count?: number
          last_message_seq?: number
          last_message_at?: string | null
          metadata?: NonNullable<Json>
          created_at?: string
          updated_at?: string
          summary_embedding?: unknown
          summary_model?: string | null
          summarized_at?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "conversations_agent_id_fkey"
            columns: ["agent_id"]
            isOneToOne: false
            referencedRelation: "agents"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "conversations_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      document_sections: {
        Row: {
          id: string
          document_id: string
          organization_id: string
          ordinal: number
          heading: string | null
          content: string
          token_count: number
          embedding: unknown
          fts: unknown
          created_at: string
          updated_at: string
          heading_path: string[]
          page: number | null
          content_hash: string | null
          embedding_model: string | null
        }
        Insert: {
          id?: string
          document_id: string
          organization_id: string
          ordinal: number
          heading?: string | null
          content: string
          token_count: number
          embedding?: unknown
          fts?: never
          created_at?: string
          updated_at?: string
          heading_path?: string[]
          page?: number | null
          content_hash?: string | null
          embedding_model?: string | null
        }
        Update: {
          id?: string
          document_id?: string
          organization_id?: string
          ordinal?: number
          heading?: string | null
          content?: string
          token_count?: number
          embedding?: unknown
          fts?: never
          created_at?: string
          updated_at?: string
          heading_path?: string[]
          page?: number | null
          content_hash?: string | null
          embedding_model?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "document_sections_document_id_fkey"
            columns: ["document_id"]
            isOneToOne: false
            referencedRelation: "documents"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "document_sections_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      documents: {
        Row: {
          id: string
          organization_id: string
          created_by: string | null
          title: string
          source: string
          file_path: string | null
          mime_type: string | null
          checksum: string | null
          status: string
          error: string | null
          tags: string[]
          usage_count: number
          metadata: NonNullable<Json>
          created_at: string
          updated_at: string
        }
        Insert: {
          id?: string
          organization_id: string
          created_by?: string | null
          title: string
          source?: string
          file_path?: string | null
          mime_type?: string | null
          checksum?: string | null
          status?: string
          error?: string | null
          tags?: string[]
          usage_count?: number
          metadata?: NonNullable<Json>
          created_at?: string
          updated_at?: string
        }
        Update: {
          id?: string
          organization_id?: string
          created_by?: string | null
          title?: string
          source?: string
          file_path?: string | null
          mime_type?: string | null
          checksum?: string | null
          status?: string
          error?: string | null
          tags?: string[]
          usage_count?: number
          metadata?: NonNullable<Json>
          created_at?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "documents_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      file_uploads: {
        Row: {
          id: string
          organization_id: string
          user_id: string | null
          bucket: string
          path: string
          object_id: string | null
          original_name: string
          size_bytes: number | null
          mime_type: string | null
          checksum: string | null
          status: string
          error: string | null
          document_id: string | null
          metadata: NonNullable<Json>
          created_at: string
          updated_at: string
        }
        Insert: {
          id?: string
          organization_id: string
          user_id?: string | null
          bucket?: string
          path: string
          object_id?: string | null
          original_name: string
          size_bytes?: number | null
          mime_type?: string | null
          checksum?: string | null
          status?: string
          error?: string | null
          document_id?: string | null
          metadata?: NonNullable<Json>
          created_at?: string
          updated_at?: string
        }
        Update: {
          id?: string
          organization_id?: string
          user_id?: string | null
          bucket?: string
          path?: string
          object_id?: string | null
          original_name?: string
          size_bytes?: number | null
          mime_type?: string | null
          checksum?: string | null
          status?: string
          error?: string | null
          document_id?: string | null
          metadata?: NonNullable<Json>
          created_at?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "file_uploads_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "file_uploads_document_id_fkey"
            columns: ["document_id"]
            isOneToOne: false
            referencedRelation: "documents"
            referencedColumns: ["id"]
          },
        ]
      }
      messages: {
        Row: {
          id: string
          conversation_id: string
          user_id: string
          seq: number
          role: string
          content: string
          token_estimate: number
          redactions: NonNullable<Json>
          metadata: NonNullable<Json>
          embedding: unknown
          created_at: string
        }
        Insert: {
          id?: string
          conversation_id: string
          user_id: string
          seq: number
          role: string
          content: string
          token_estimate: number
          redactions?: NonNullable<Json>
          metadata?: NonNullable<Json>
          embedding?: unknown
          created_at?: string
        }
        Update: {
          id?: string
          conversation_id?: string
          user_id?: string
          seq?: number
          role?: string
          content?: string
          token_estimate?: number
          redactions?: NonNullable<Json>
          metadata?: NonNullable<Json>
          embedding?: unknown
          created_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "messages_conversation_id_fkey"
            columns: ["conversation_id"]
            isOneToOne: false
            referencedRelation: "conversations"
            referencedColumns: ["id"]
          },
        ]
      }
      organization_invitations: {
        Row: {
          id: string
          organization_id: string
          organization_name: string
          user_id: string | null
          email: string | null
          role: string
          invited_by: string | null
          expires_at: string
          created_at: string
        }
        Insert: {
          id?: string
          organization_id: string
          organization_name?: string
          user_id?: string | null
          email?: string | null
          role?: string
          invited_by?: string | null
          expires_at?: string
          created_at?: string
        }
        Update: {
          id?: string
          organization_id?: string
          organization_name?: string
          user_id?: string | null
          email?: string | null
          role?: string
          invited_by?: string | null
          expires_at?: string
          created_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "organization_invitations_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      organization_members: {
        Row: {
          id: string
          organization_id: string
          user_id: string
          role: string
          created_at: string
          updated_at: string
        }
        Insert: {
          id?: string
          organization_id: string
          user_id: string
          role?: string
          created_at?: string
          updated_at?: string
        }
        Update: {
          id?: string
          organization_id?: string
          user_id?: string
          role?: string
          created_at?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "organization_members_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      organization_retention_policies: {
        Row: {
          organization_id: string
          policy: string
          days: number
          updated_by: string | null
          created_at: string
          updated_at: string
        }
        Insert: {
          organization_id: string
          policy: string
          days: number
          updated_by?: string | null
          created_at?: string
          updated_at?: string
        }
        Update: {
          organization_id?: string
          policy?: string
          days?: number
          updated_by?: string | null
          created_at?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "organization_retention_policies_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "organization_retention_policies_policy_fkey"
            columns: ["policy"]
            isOneToOne: false
            referencedRelation: "retention_policies"
            referencedColumns: ["policy"]
          },
        ]
      }
      organizations: {
        Row: {
          id: string
          name: string
          slug: string
          plan: string
          settings: NonNullable<Json>
          personal_user_id: string | null
          created_by: string | null
          created_at: string
          updated_at: string
        }
        Insert: {
          id?: string
          name: string
          slug: string
          plan?: string
          settings?: NonNullable<Json>
          personal_user_id?: string | null
          created_by?: string | null
          created_at?: string
          updated_at?: string
        }
        Update: {
          id?: string
          name?: string
          slug?: string
          plan?: string
          settings?: NonNullable<Json>
          personal_user_id?: string | null
          created_by?: string | null
          created_at?: string
          updated_at?: string
        }
        Relationships: []
      }
      profiles: {
        Row: {
          id: string
          display_name: string
          avatar_url: string | null
          created_at: string
          updated_at: string
        }
        Insert: {
          id: string
          display_name: string
          avatar_url?: string | null
          created_at?: string
          updated_at?: string
        }
        Update: {
          id?: string
          display_name?: string
          avatar_url?: string | null
          created_at?: string
          updated_at?: string
        }
        Relationships: []
      }
      retention_policies: {
        Row: {
          policy: string
          target: string
          action: string
          description: string
          default_days: number
          min_days: number
          max_days: number
          per_organization: boolean
          enabled: boolean
          updated_at: string
        }
        Insert: {
          policy: string
          target: string
          action: string
          description: string
          default_days: number
          min_days: number
          max_days: number
          per_organization?: boolean
          enabled?: boolean
          updated_at?: string
        }
        Update: {
          policy?: string
          target?: string
          action?: string
          description?: string
          default_days?: number
          min_days?: number
          max_days?: number
          per_organization?: boolean
          enabled?: boolean
          updated_at?: string
        }
        Relationships: []
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      accept_invitation: {
        Args: { invitation_id: string }
        Returns: {
          id: string
          organization_id: string
          user_id: string
          role: string
          created_at: string
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "organization_members"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      analytics_series: {
        Args: {
          range_start: string
          range_end: string
          granularity?: string
          event_name?: string
          organization_id: string
        }
        Returns: {
          value_sum: number
          bucket: string
          name: string
          count: number
          error_count: number
          duration_count: number
          duration_sum: number
          duration_max: number
          p50_ms: number
          p95_ms: number
          p99_ms: number
          tokens: number
        }[]
      }
      decline_invitation: { Args: { invitation_id: string }; Returns: boolean }
      detect_performance_issues: {
        Args: {
          organization_id: string
          slow_execution_ms?: number
          max_error_rate?: number
          slow_search_ms?: number
        }
        Returns: {
          details: Json
          type: string
          severity: string
          description: string
        }[]
      }
      find_similar_agents: {
        Args: {
          min_similarity?: number
          agent_id: string
          match_count?: number
        }
        Returns: {
          similarity: number
          status: string
          type: string
          description: string
          name: string
          organization_id: string
          id: string
        }[]
      }
      get_error_rate: {
        Args: { organization_id: string; hours?: number }
        Returns: {
          error_rate: number
          total_requests: number
          failed_requests: number
        }[]
      }
      get_performance_summary: {
        Args: { organization_id: string; start_time: string; end_time?: string }
        Returns: {
          name: string
          total: number
          errors: number
          error_rate: number
          avg_duration_ms: number
          max_duration_ms: number
          tokens: number
        }[]
      }
      hybrid_search: {
        Args: {
          query_text: string
          query_embedding?: unknown
          match_count?: number
          full_text_weight?: number
          semantic_weight?: number
          rrf_k?: number
          filter?: Json
        }
        Returns: {
          document_title: string
          ordinal: number
          heading: string
          content: string
          score: number
          full_text_rank: number
          semantic_rank: number
          similarity: number
          id: string
          document_id: string
          organization_id: string
        }[]
      }
      hybrid_search_tracked: {
        Args: {
          full_text_weight?: number
          semantic_weight?: number
          rrf_k?: number
          filter?: Json
          query_text: string
          query_embedding?: unknown
          match_count?: number
        }
        Returns: {
          document_id: string
          organization_id: string
          document_title: string
          ordinal: number
          heading: string
          content: string
          score: number
          full_text_rank: number
          semantic_rank: number
          similarity: number
          id: string
        }[]
      }
      match_conversation_summaries: {
        Args: { match_count?: number; query_embedding: unknown }
        Returns: {
          id: string
          agent_id: string
          organization_id: string
          title: string
          summary: string
          summarized_until: number
          similarity: number
        }[]
      }
      match_document_sections: {
        Args: {
          min_similarity?: number
          filter?: Json
          match_count?: number
          query_embedding: unknown
        }
        Returns: {
          ordinal: number
          organization_id: string
          document_id: string
          id: string
          similarity: number
          content: string
          heading: string
        }[]
      }
      match_document_sections_tracked: {
        Args: {
          min_similarity?: number
          filter?: Json
          match_count?: number
          query_embedding: unknown
        }
        Returns: {
          heading: string
          content: string
          similarity: number
          id: string
          document_id: string
          organization_id: string
          ordinal: number
        }[]
      }
      match_messages: {
        Args: {
          conversation_id?: string
          query_embedding: unknown
          match_count?: number
        }
        Returns: {
          id: string
          message_conversation_id: string
          seq: number
          role: string
          content: string
          created_at: string
          similarity: number
        }[]
      }
      record_search_event: {
        Args: {
          properties: Json
          organization_id: string
          results: number
          started: string
          event_name: string
        }
        Returns: undefined
      }
    }
    Enums: {
      [_ in never]: never
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  public: {
    Enums: {},
  },
} as const
